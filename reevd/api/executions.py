"""Read routes for executions and their events."""

from __future__ import annotations

from aiohttp import web

from reevd import keys
from reevd.errors import RequestError, bad_request, not_found
from reevd.api.agents import AGENT_RE
from reevd.api.params import choice_query, int_query, optional_safe_id, safe_id
from reevd.api.render.execution import event_view, execution_state
from reevd.api.responses import json_response
from reevd.api.status_cache import StateBody
from reevd.models import Status
from reevd.store import ExecutionFilter
from reevd.store.reader import decode_cursor, encode_cursor

STATUS_VALUES = frozenset(s.value for s in Status)


def _agent_query(request: web.Request) -> str | None:
    """An agent name as agents are named (LLM agents carry ':' and '.', e.g. openai:gpt-4o-mini)."""
    raw = request.query.get("agent")
    if raw is None:
        return None
    if not AGENT_RE.fullmatch(raw):
        raise bad_request("agent", f"not an agent name (got {raw[:80]!r})")
    return raw


async def list_executions(request: web.Request) -> web.Response:
    limit = int_query(request, "limit", 50, 1, 500)
    cursor = None
    if request.query.get("cursor"):
        try:
            cursor = decode_cursor(request.query["cursor"])
        except ValueError:
            raise bad_request("cursor", "not a cursor returned by this API") from None
    filt = ExecutionFilter(
        benchmark_id=optional_safe_id(request, "benchmark"),
        agent=_agent_query(request),
        status=choice_query(request, "status", STATUS_VALUES),
    )
    rows = await request.app[keys.STORE].reader.executions(filt, limit + 1, cursor)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["execution_id"]) if more else None
    return json_response({"executions": [execution_state(r) for r in page], "next_cursor": next_cursor})


async def _status_or_404(request: web.Request, execution_id: str) -> StateBody:
    # The hot path the UI polls: no thread hop, and no query at all when nothing changed
    # since the last read (api/status_cache.py).
    status = await request.app[keys.STATUS].get(execution_id)
    if status is None:
        raise not_found("execution", execution_id)
    return status


async def _execution_or_404(request: web.Request, execution_id: str) -> dict:
    return (await _status_or_404(request, execution_id)).row


def _state_response(status: StateBody) -> web.Response:
    return web.Response(body=status.body, content_type="application/json")


async def get_execution(request: web.Request) -> web.Response:
    return _state_response(await _status_or_404(request, safe_id(request, "execution_id")))


async def list_events(request: web.Request) -> web.Response:
    execution_id = safe_id(request, "execution_id")
    after = int_query(request, "after", -1, -1, 2**62)
    limit = int_query(request, "limit", 500, 1, 5000)
    await _execution_or_404(request, execution_id)
    rows, more = await request.app[keys.STORE].reader.events(execution_id, after, limit)
    return json_response({
        "execution_id": execution_id,
        "events": [event_view(r) for r in rows],
        "next_after": rows[-1]["offset"] if rows else after,
        "has_more": more,
    })


async def benchmark_execution_status(request: web.Request) -> web.Response:
    """Upstream's route; its UI polls it and stops on Completed or Failed."""
    benchmark_id = safe_id(request, "benchmark_id")
    status = await _status_or_404(request, safe_id(request, "execution_id"))
    row = status.row
    if row["benchmark_id"] and row["benchmark_id"] != benchmark_id:
        raise RequestError(404, "not_found", f"execution '{row['execution_id']}' is not a run of benchmark '{benchmark_id}'")
    return _state_response(status)


async def benchmark_latest_status(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    row = await request.app[keys.STORE].reader.latest_for_benchmark(benchmark_id, _agent_query(request))
    if row is None:
        raise not_found("execution for benchmark", benchmark_id)
    return json_response(execution_state(row))
