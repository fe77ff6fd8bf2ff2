"""Server-Sent Events: one run's OTEL events live, and a feed of every status change.

A stream subscribes to the hub *before* reading what is stored, then re-reads the database
on each notice, so nothing falls between replay and live and nothing is sent twice:
`id:` is the event's byte offset and a reconnect resumes after Last-Event-ID.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from reevd import keys
from reevd.errors import bad_request, not_found
from reevd.api.params import safe_id
from reevd.api.render.execution import event_view, execution_state
from reevd.evals import eval_view
from reevd.hub import Notice
from reevd.store import evals as eval_store
from reevd.models import Status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_STREAM_KEY = "reevd.stream_response"

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


def _eval_of(state: dict[str, object]) -> str | None:
    raw = state.get("metadata")
    if not isinstance(raw, str) or "eval_id" not in raw:
        return None
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = meta.get("eval_id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


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


def _ends_on_disconnect(handler: Handler) -> Handler:
    """A client that hangs up mid-stream ends its stream quietly: not a server error."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ConnectionResetError:  # aiohttp's ClientConnectionResetError is one
            prepared = request.get(_STREAM_KEY)
            if isinstance(prepared, web.StreamResponse):
                return prepared  # already started: aiohttp closes it without an error response
            raise

    return wrapped


@_ends_on_disconnect
async def stream_execution(request: web.Request) -> web.StreamResponse:
    execution_id = safe_id(request, "execution_id")
    after = _resume_point(request)
    reader = request.app[keys.STORE].reader
    if await reader.execution(execution_id) is None:
        raise not_found("execution", execution_id)
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    request[_STREAM_KEY] = response
    with request.app[keys.HUB].subscribe() as queue:
        while True:
            rows, more = await reader.events(execution_id, after, PAGE)
            for row in rows:
                await response.write(_frame("otel", event_view(row), row["offset"]))
                after = row["offset"]
            if more:
                continue
            state = await reader.execution(execution_id)
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


@_ends_on_disconnect
async def stream_all(request: web.Request) -> web.StreamResponse:
    """Every execution status change: an invalidation feed for dashboards.

    A change to a run of an eval is followed by an `eval` frame with the eval's progress
    (eval_id, runs, finished, status): `reevd eval --wait` and dashboards follow evals here.
    """
    reader = request.app[keys.STORE].reader
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    request[_STREAM_KEY] = response
    with request.app[keys.HUB].subscribe() as queue:
        # Written once subscribed: a client that has read it misses no later change.
        await response.write(b": connected\n\n")
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
            evals: set[str] = set()
            for execution_id in sorted(changed):
                state = await reader.execution(execution_id)
                if state is not None:
                    await response.write(_frame("execution", execution_state(state)))
                    eval_id = _eval_of(state)
                    if eval_id is not None:
                        evals.add(eval_id)
            for eval_id in sorted(evals):
                row = await eval_store.eval_row(reader, eval_id)
                if row is not None:
                    finished = (await eval_store.eval_progress(reader, [eval_id])).get(eval_id, 0)
                    await response.write(_frame("eval", eval_view(row, finished)))
    await response.write_eof()
    return response
