"""GET /api/v1/health: liveness plus the facts an operator checks first."""

from __future__ import annotations

import time

from aiohttp import web

from reevd import __version__, keys
from reevd.api.responses import json_response
from reevd.models import utc_now_iso


async def health(request: web.Request) -> web.Response:
    app = request.app
    store = app[keys.STORE]
    try:
        db_ok = await store.reader.ping()
    except Exception:  # noqa: BLE001 - reported, not raised: health must answer
        db_ok = False
    watcher_alive = app[keys.WATCHER].alive
    writer_alive = store.writer.alive
    problem = store.problem()
    healthy = db_ok and watcher_alive and writer_alive and problem is None
    reasons = [r for r in (
        None if db_ok else "database not readable",
        None if watcher_alive else "file watcher stopped",
        None if writer_alive else "database writer stopped",
        problem,
    ) if r is not None]
    launcher = app.get(keys.LAUNCHER)
    body = {
        "status": "healthy" if healthy else "degraded",
        "timestamp": utc_now_iso(),
        "version": __version__,
        "uptime_s": round(time.monotonic() - app[keys.STARTED_AT], 3),
        "db_ok": db_ok,
        "watcher_alive": watcher_alive,
        "writer_alive": writer_alive,
        "runs_in_flight": launcher.in_flight if launcher else 0,
        "runs_queued": launcher.queued if launcher else 0,
        "reasons": reasons,
    }
    return json_response(body, status=200 if healthy else 503)
