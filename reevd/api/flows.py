"""GET /flows/{session_id} (Mermaid from ingested events, ?format=html) and /flow-logs/{benchmark_id}."""

from __future__ import annotations

from aiohttp import web

from reevd import keys
from reevd.api.render.flow_diagram import build_flow, html_page
from reevd.errors import bad_request, not_found
from reevd.api.params import int_query, safe_id
from reevd.api.responses import json_response
from reevd.models import ACTIVE, TERMINAL, Status

PAGE = 1000
MAX_EVENTS = 20_000  # a diagram of more is unreadable anyway; the flag says it was cut


async def flow_diagram(request: web.Request) -> web.StreamResponse:
    session_id = safe_id(request, "session_id")
    fmt = request.query.get("format") or "json"
    if fmt not in ("json", "html"):
        raise bad_request("format", "must be json or html")
    reader = request.app[keys.STORE].reader
    row = await reader.execution(session_id)
    if row is None:
        raise not_found("session", session_id)
    events: list[dict] = []
    after = -1
    while len(events) < MAX_EVENTS:
        page, more = await reader.events(session_id, after, PAGE)
        events += page
        if not more:
            break
        after = page[-1]["offset"]
    status = Status(row["status"])
    final = None if status not in TERMINAL else status.value
    flow = build_flow(events, final, row["score"])
    diagram = "\n".join(flow.lines)
    if fmt == "html":
        return web.Response(text=html_page(session_id, diagram), content_type="text/html")
    tool_calls = [{k: v for k, v in c.items() if k != "state"} for c in flow.tool_calls]
    return json_response({
        "session_id": session_id,
        "diagram": diagram,
        "metadata": {
            "benchmark_id": row["benchmark_id"], "agent_type": row["agent"], "status": row["status"],
            "score": row["score"], "events": len(events), "truncated": len(events) >= MAX_EVENTS,
            "steps": flow.steps, "tool_count": len(tool_calls),
        },
        "sessions": [],
        "tool_calls": tool_calls,
    })


async def flow_logs(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    limit = int_query(request, "limit", 100, 1, 1000)
    rows = await request.app[keys.STORE].reader.executions_for_benchmark(benchmark_id, limit)
    return json_response({
        "benchmark_id": benchmark_id,
        "sessions": [{
            "session_id": r["execution_id"], "execution_id": r["execution_id"], "agent_type": r["agent"],
            "status": r["status"], "is_running": Status(r["status"]) in ACTIVE, "progress": r["progress"],
            "score": r["score"], "created_at": r["created_at"], "finished_at": r["finished_at"],
            "events_count": r["events_count"], "error_message": r["error_message"],
        } for r in rows],
    })
