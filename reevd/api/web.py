"""The built-in dashboard: `/` and its static files under `/ui/`, straight from the package.

The files are read once, at first use, from reevd/web/ (package data): no build step, no CDN.
Only names found in that folder are served, so a request can never reach another path.
The page runs under `Content-Security-Policy: default-src 'self'` (no inline script or style).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from aiohttp import web

from reevd.errors import not_found

CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated by ETag: a daemon upgrade shows at once
}


@cache
def files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (body, content type, etag) for every servable file of reevd/web/."""
    out: dict[str, tuple[bytes, str, str]] = {}
    for entry in resources.files("reevd.web").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in TYPES:
            body = entry.read_bytes()
            out[entry.name] = (body, TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
    return out


def _serve(request: web.Request, name: str) -> web.Response:
    found = files().get(name)
    if found is None:
        raise not_found("dashboard file", name[:80])
    body, content_type, etag = found
    headers = {**HEADERS, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


async def index(request: web.Request) -> web.Response:
    return _serve(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    return _serve(request, request.match_info["name"])


ROUTES = [web.get("/", index), web.get("/ui/{name}", asset)]
