"""Validation of path, query and body parameters; every failure names the parameter."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from reevd.errors import RequestError, bad_request
from runner.formats import is_safe_id


def safe_id(request: web.Request, name: str) -> str:
    value = request.match_info.get(name) or request.query.get(name) or ""
    if not is_safe_id(value):
        raise RequestError(400, "invalid_id", f"{name}: must be 1-128 letters, digits, '-' or '_' (got {value[:80]!r})")
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


async def read_json_object(request: web.Request, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object ({} when empty and optional). Size capped by client_max_size."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_request("body", "a JSON object is required")
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request("body", "not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body", "expected a JSON object")
    return body
