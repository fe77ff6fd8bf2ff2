"""GET /metrics: the app's Prometheus registry in the text exposition format."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from reevd import keys


async def metrics(request: web.Request) -> web.Response:
    # A per-app registry (reevd/metrics.py): a scrape sees this daemon only, nothing global.
    body = generate_latest(request.app[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
