"""Validation of path and query parameters; every failure names the parameter."""

from __future__ import annotations

from aiohttp import web

from reevd.api.errors import ApiError, bad_request
from runner.formats import is_safe_id


def safe_id(request: web.Request, name: str) -> str:
    value = request.match_info.get(name) or request.query.get(name) or ""
    if not is_safe_id(value):
        raise ApiError(400, "invalid_id", f"{name}: must be 1-128 letters, digits, '-' or '_' (got {value[:80]!r})")
    return value


def optional_safe_id(request: web.Request, name: str) -> str | None:
    if name not in request.query:
        return None
    return safe_id(request, name)


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(name, f"expected an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise bad_request(name, f"must be between {low} and {high}")
    return value


def choice_query(request: web.Request, name: str, allowed: frozenset[str]) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in allowed:
        raise bad_request(name, f"must be one of {', '.join(sorted(allowed))}")
    return raw
