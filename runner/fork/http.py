"""JSON over HTTP with a timeout, bounded answers and retries (stdlib urllib only).

Retried: connection errors, timeouts, answers cut short in transit, HTTP 429 (honouring
Retry-After, capped) and 5xx, with exponential backoff. Not retried: other 4xx and answers
that arrive whole but are not valid JSON (retrying cannot fix those). Every failure is an
HttpError whose message is one line naming the method, the URL without its query, and why.
Only scheme and host appear in messages (see `redact`): RPC providers put API keys in URLs.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.json_depth import MAX_JSON_DEPTH, too_deep

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_S = 0.25
MAX_RETRY_AFTER_S = 10.0
MAX_ANSWER_BYTES = 256 * 1024 * 1024  # a 100-account batch of big program accounts fits


class HttpError(Exception):
    """A request that failed for good; str() is one line."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def redact(url: str) -> str:
    """scheme://host[:port] plus "/…" when there is a path: providers put API keys in the
    query (?api-key=) or in the path (/<token>/), so neither is ever shown or stored."""
    p = urllib.parse.urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    return f"{p.scheme}://{host}" + ("/…" if p.path not in ("", "/") or p.query else "")


@dataclass
class JsonHttp:
    timeout_s: float = DEFAULT_TIMEOUT_S
    attempts: int = DEFAULT_ATTEMPTS
    backoff_s: float = DEFAULT_BACKOFF_S
    max_answer_bytes: int = MAX_ANSWER_BYTES
    sleep: Callable[[float], None] = time.sleep
    requests_sent: int = 0  # every HTTP request, retries included (perf and tests count them)

    def request(self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer of a 2xx response; HttpError otherwise (after retries)."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        hdrs = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        where = f"{method} {redact(url)}"
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            delay = self.backoff_s * 2 ** (attempt - 1)
            try:
                status, raw = self._once(method, url, data, hdrs)
            except HttpError as exc:  # an answer over the size limit
                raise HttpError(f"{where}: {exc}") from None
            except _Retry as exc:
                last = exc.reason
                if exc.retry_after is not None:
                    delay = min(exc.retry_after, MAX_RETRY_AFTER_S)
            else:
                try:
                    answer = json.loads(raw)
                except ValueError as exc:
                    raise HttpError(f"{where}: answer is not valid JSON ({len(raw)} bytes, truncated?): {exc}") from None
                except RecursionError:  # json recurses per nesting level: "[[[[…" would escape as a crash
                    raise HttpError(f"{where}: answer is not valid JSON: nested too deeply") from None
                if too_deep(answer):  # no real answer nests so deep; the writers could not keep it
                    raise HttpError(f"{where}: answer is nested deeper than {MAX_JSON_DEPTH} levels")
                if 200 <= status < 300:
                    return answer
                raise HttpError(f"{where}: HTTP {status}: {_error_text(answer)}", status, answer)
            if attempt < self.attempts:
                self.sleep(delay)
        raise HttpError(f"{where}: failed after {self.attempts} attempts: {last}")

    def _once(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        self.requests_sent += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - http(s) only, checked by callers
                return resp.status, self._read(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise _Retry(f"HTTP {exc.code}", _retry_after(exc.headers.get("Retry-After"))) from None
            try:
                return exc.code, self._read(exc)
            except _Retry:
                return exc.code, b"null"
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise _Retry(f"timed out after {self.timeout_s:g} s") from None
            raise _Retry(f"cannot connect: {reason}") from None
        except (TimeoutError, socket.timeout):
            raise _Retry(f"timed out after {self.timeout_s:g} s") from None
        except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError) as exc:
            raise _Retry(f"answer cut short: {type(exc).__name__}") from None

    def _read(self, resp: Any) -> bytes:
        length = resp.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.max_answer_bytes:
            raise HttpError(f"answer of {length} bytes is larger than the limit of {self.max_answer_bytes}")
        raw: bytes = resp.read(self.max_answer_bytes + 1)
        if len(raw) > self.max_answer_bytes:
            raise HttpError(f"answer is larger than the limit of {self.max_answer_bytes} bytes")
        return raw


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _error_text(answer: Any) -> str:
    if isinstance(answer, dict):
        for key in ("error", "message", "errorCode"):
            v = answer.get(key)
            if isinstance(v, str):
                return v[:300]
            if isinstance(v, dict) and isinstance(v.get("message"), str):
                return str(v["message"])[:300]
    return json.dumps(answer)[:300]
