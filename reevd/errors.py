"""The one error type that reaches a caller: it carries its HTTP status and a short code.

Raised by the API handlers and by the domain modules they call (the launcher's checks), and
turned into `{"error": code, "message": text}` by one middleware (api/errors.py).
"""

from __future__ import annotations


class RequestError(Exception):
    """A request that cannot be honoured; `message` names the field or the thing at fault."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str, ident: str) -> RequestError:
    return RequestError(404, "not_found", f"{what} '{ident}' not found")


def bad_request(field: str, message: str) -> RequestError:
    return RequestError(400, "invalid_request", f"{field}: {message}")
