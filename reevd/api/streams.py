"""Server-Sent Events: one run's OTEL events live, and a feed of every status change.

A stream subscribes to the hub *before* reading what is stored, then re-reads the database
on each notice, so nothing falls between replay and live and nothing is sent twice:
`id:` is the event's byte offset and a reconnect resumes after Last-Event-ID.

Each stream costs bounded memory, whatever its client does: a page holds at most PAGE_BYTES
of small bodies; a bigger body is never held per stream but written in pieces of PIECE bytes
taken from the store's shared, byte-budgeted `event_bodies`, each piece drained before the
next is taken (the transport buffers at most WRITE_BUFFER_HIGH plus one write). A client that
does not take a write within the send timeout is dropped (with a log line), and the number of
open streams is capped (503 past it). Frames are the same bytes however they are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import orjson
import structlog
from aiohttp import web

from reevd import keys
from reevd.api.params import safe_id
from reevd.api.render.execution import EVENT_JSON_TAIL, event_json_head, event_view, execution_state
from reevd.errors import RequestError, bad_request, not_found
from reevd.evals import eval_view
from reevd.hub import Notice, Subscription
from reevd.store import evals as eval_store
from reevd.models import Status

log = structlog.get_logger("reevd.api")

HEARTBEAT_S = 15.0
MAX_OFFSET = 2**62  # the bound the events route enforces; SQLite integers are 64-bit
PAGE = 1000
PAGE_BYTES = 64 * 1024  # of small event bodies per read, held until sent
PIECE = 32 * 1024  # a body bigger than this is written in pieces of this size
WRITE_BUFFER_HIGH = 32 * 1024  # the transport pauses the stream past this (asyncio's default: 64 KiB)

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
    "Access-Control-Allow-Origin": "*",
}


class ClientGone(Exception):
    """The client stopped reading (send timeout) or went away."""


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


def _check_capacity(request: web.Request) -> None:
    hub = request.app[keys.HUB]
    limit = request.app[keys.CONFIG].max_streams
    if hub.closing:
        raise RequestError(503, "shutting_down", "the daemon is shutting down")
    if hub.subscriber_count >= limit:
        raise RequestError(503, "too_many_streams", f"{limit} streams are open, the limit (max-streams); retry later")


class Sender:
    """Writes frames to one client; a write the client does not take in time drops it."""

    def __init__(self, request: web.Request, response: web.StreamResponse, sub: Subscription) -> None:
        self._request = request
        self._response = response
        self._sub = sub
        self._timeout = request.app[keys.CONFIG].stream_send_timeout_s
        self._hub = request.app[keys.HUB]

    async def send(self, data: bytes) -> None:
        if self._hub.closing:
            self._cut_if_behind()
            raise ClientGone()  # shutting down: end now (a reconnect resumes with Last-Event-ID)
        await self._timed(self._response.write(data))

    async def finish(self) -> None:
        """End the response (the last chunk); at shutdown, a client still behind is cut off instead."""
        if self._hub.closing:
            self._cut_if_behind()
        transport = self._request.transport
        if transport is None or transport.is_closing():
            return
        try:
            await self._timed(self._response.write_eof())
        except ClientGone:
            pass

    def _cut_if_behind(self) -> None:
        # Data still buffered: the client is not keeping up, and ending politely would wait on it
        # (aiohttp gives handlers up to a rounded-up shutdown timeout), holding the daemon's exit.
        transport = self._request.transport
        if transport is not None and transport.get_write_buffer_size() > 0:
            transport.abort()

    async def _timed(self, write: Awaitable[None]) -> None:
        self._sub.sending = True
        try:
            async with asyncio.timeout(self._timeout):  # no task per write (wait_for makes one)
                await write
        except TimeoutError:
            log.warning("stream_client_dropped", path=self._request.path, reason="not reading",
                        send_timeout_s=self._timeout)
            self.abort()  # frees what is buffered for it at once
            raise ClientGone() from None
        except (ConnectionResetError, ConnectionError) as exc:
            raise ClientGone() from exc
        finally:
            self._sub.sending = False

    def abort(self) -> None:
        transport = self._request.transport
        if transport is not None:
            transport.abort()


async def _prepare(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    if request.transport is not None:
        request.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_HIGH // 4)
    return response


async def _send_event(request: web.Request, sender: Sender, execution_id: str, row: dict[str, Any]) -> None:
    offset = row["offset"]
    if row["body"] is not None:
        await sender.send(_frame("otel", event_view(row), offset))
        return
    # A big body: the same frame, written piece by piece from the shared bodies.
    bodies = request.app[keys.STORE].reader.event_bodies
    await sender.send(b"id: %d\nevent: otel\ndata: " % offset + event_json_head(row))
    start = 0
    while True:
        piece = await bodies.piece(execution_id, offset, start, PIECE)
        if piece is None:  # deleted under us, mid-frame: the client drops the partial event and resumes
            log.warning("stream_event_gone", execution_id=execution_id, offset=offset)
            sender.abort()
            raise ClientGone()
        start += len(piece)
        if len(piece) < PIECE:
            await sender.send(piece + EVENT_JSON_TAIL + b"\n\n")
            return
        await sender.send(piece)


RESYNC = Notice("", False)  # "re-read your state": returned after each heartbeat


async def _next_notice(queue: "asyncio.Queue[Notice | None]", sender: Sender) -> Notice | None:
    """The next notice, or RESYNC after a keepalive comment every HEARTBEAT_S.

    The hub drops notices for a subscriber whose queue is full, so a stream re-reads its
    state on every heartbeat: a lost notice delays an update by HEARTBEAT_S, never forever.
    """
    try:
        # Not wait_for: on 3.11 it wraps get() in a task, two more loop iterations per notice.
        async with asyncio.timeout(HEARTBEAT_S):
            return await queue.get()
    except TimeoutError:
        await sender.send(b": keepalive\n\n")
        return RESYNC


async def stream_execution(request: web.Request) -> web.StreamResponse:
    execution_id = safe_id(request, "execution_id")
    after = _resume_point(request)
    reader = request.app[keys.STORE].reader
    status = request.app[keys.STATUS]
    if await status.get(execution_id) is None:
        raise not_found("execution", execution_id)
    _check_capacity(request)
    response = await _prepare(request)
    hub = request.app[keys.HUB]
    with hub.subscribe(request.transport) as sub:
        sender = Sender(request, response, sub)
        try:
            while True:
                page, more = await hub.shared_read(
                    ("page", execution_id, after),
                    lambda: reader.stream_events(execution_id, after, PAGE, PAGE_BYTES, PIECE))
                rows = page[::-1]  # our own list (the page is shared): let go of what is sent
                del page
                while rows:
                    row = rows.pop()
                    await _send_event(request, sender, execution_id, row)
                    after = row["offset"]
                if more:
                    continue
                known = await status.get(execution_id)
                state = known.row if known is not None else None
                if state is not None and Status(state["status"]).is_terminal:
                    # The ingestor commits a run's events before its terminal status; one more read
                    # covers lines committed between our last read and the status.
                    if await hub.shared_read(("more", execution_id, after),
                                             lambda: reader.has_events_after(execution_id, after)):
                        continue
                    await sender.send(_frame("status", execution_state(state)))
                    break
                notice = await _next_notice(sub.queue, sender)
                while notice is not None and notice is not RESYNC and notice.execution_id != execution_id:
                    notice = await _next_notice(sub.queue, sender)
                if notice is None:  # daemon shutting down
                    break
            await sender.finish()
        except ClientGone:
            pass
    return response


async def stream_all(request: web.Request) -> web.StreamResponse:
    """Every execution status change: an invalidation feed for dashboards.

    A change to a run of an eval is followed by an `eval` frame with the eval's progress
    (eval_id, runs, finished, status): `reevd eval --wait` and dashboards follow evals here.
    """
    reader = request.app[keys.STORE].reader
    status = request.app[keys.STATUS]
    _check_capacity(request)
    response = await _prepare(request)
    with request.app[keys.HUB].subscribe(request.transport, keep_overflow=True) as sub:
        sender = Sender(request, response, sub)
        try:
            await sender.send(b": connected\n\n")
            while True:
                notice = await _next_notice(sub.queue, sender)
                if notice is None:
                    break
                if notice is RESYNC and not sub.overflow:
                    continue  # an invalidation feed: clients refetch what they show
                changed = sub.changed(notice)  # a burst coalesced into one read per execution, none lost
                if changed is None:
                    await response.write_eof()
                    return response
                evals: set[str] = set()
                for execution_id in sorted(changed):
                    # The encoded state the status routes serve: read on the loop, no thread hop.
                    known = await status.get(execution_id)
                    if known is not None:
                        await sender.send(b"event: execution\ndata: " + known.body + b"\n\n")
                        eval_id = _eval_of(known.row)
                        if eval_id is not None:
                            evals.add(eval_id)
                for eval_id in sorted(evals):
                    row = await eval_store.eval_row(reader, eval_id)
                    if row is not None:
                        finished = (await eval_store.eval_progress(reader, [eval_id])).get(eval_id, 0)
                        await sender.send(_frame("eval", eval_view(row, finished)))
            await sender.finish()
        except ClientGone:
            pass
    return response
