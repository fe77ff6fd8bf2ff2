"""Server-Sent Events: one run's OTEL events live, and a feed of every status change.

A stream subscribes to the hub *before* reading what is stored, then re-reads the database
on each notice, so nothing falls between replay and live and nothing is sent twice:
`id:` is the event's byte offset and a reconnect resumes after Last-Event-ID.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from reevd import keys
from reevd.errors import bad_request, not_found
from reevd.api.params import safe_id
from reevd.api.render.execution import event_view, execution_state
from reevd.hub import Notice
from reevd.models import Status

HEARTBEAT_S = 15.0
MAX_OFFSET = 2**62  # the bound the events route enforces; SQLite integers are 64-bit
PAGE = 1000

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
    "Access-Control-Allow-Origin": "*",
}


def _frame(event: str, data: object, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def _resume_point(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None or raw == "":
        return -1
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("Last-Event-ID", "expected an event id (integer byte offset)") from None
    if not -1 <= value <= MAX_OFFSET:
        raise bad_request("Last-Event-ID", f"must be between -1 and {MAX_OFFSET}")
    return value


RESYNC = Notice("", False)  # "re-read your state": returned after each heartbeat


async def _next_notice(queue: "asyncio.Queue[Notice | None]", response: web.StreamResponse) -> Notice | None:
    """The next notice, or RESYNC after a keepalive comment every HEARTBEAT_S.

    The hub drops notices for a subscriber whose queue is full, so a stream re-reads its
    state on every heartbeat: a lost notice delays an update by HEARTBEAT_S, never forever.
    """
    try:
        return await asyncio.wait_for(queue.get(), HEARTBEAT_S)
    except asyncio.TimeoutError:
        await response.write(b": keepalive\n\n")
        return RESYNC


async def stream_execution(request: web.Request) -> web.StreamResponse:
    execution_id = safe_id(request, "execution_id")
    after = _resume_point(request)
    reader = request.app[keys.STORE].reader
    status = request.app[keys.STATUS]
    if await status.get(execution_id) is None:
        raise not_found("execution", execution_id)
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    with request.app[keys.HUB].subscribe() as queue:
        while True:
            rows, more = await reader.events(execution_id, after, PAGE)
            for row in rows:
                await response.write(_frame("otel", event_view(row), row["offset"]))
                after = row["offset"]
            if more:
                continue
            known = await status.get(execution_id)
            state = known.row if known is not None else None
            if state is not None and Status(state["status"]).is_terminal:
                # The ingestor commits a run's events before its terminal status; one more read
                # covers lines committed between our last read and the status.
                rest, _ = await reader.events(execution_id, after, 1)
                if rest:
                    continue
                await response.write(_frame("status", execution_state(state)))
                break
            while True:
                notice = await _next_notice(queue, response)
                if notice is None:  # daemon shutting down
                    await response.write_eof()
                    return response
                if notice is RESYNC or notice.execution_id == execution_id:
                    break
    await response.write_eof()
    return response


async def stream_all(request: web.Request) -> web.StreamResponse:
    """Every execution status change: an invalidation feed for dashboards."""
    status = request.app[keys.STATUS]
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    await response.write(b": connected\n\n")
    with request.app[keys.HUB].subscribe() as queue:
        while True:
            notice = await _next_notice(queue, response)
            if notice is None:
                break
            if notice is RESYNC:
                continue  # an invalidation feed: clients refetch what they show
            changed = {notice.execution_id}
            while not queue.empty():  # coalesce a burst into one read per execution
                more = queue.get_nowait()
                if more is None:
                    await response.write_eof()
                    return response
                changed.add(more.execution_id)
            for execution_id in sorted(changed):
                # The encoded state the status routes serve: read on the loop, no thread hop.
                state = await status.get(execution_id)
                if state is not None:
                    await response.write(b"event: execution\ndata: " + state.body + b"\n\n")
    await response.write_eof()
    return response
