"""In-process change notices: the writer publishes after each commit, streams subscribe.

Notices are invalidations ("execution X changed"), never data: a subscriber re-reads the
database, so a slow or lagging subscriber can drop notices without losing anything.
At shutdown every subscriber is woken, and a stream stuck writing to a client that does
not read has its connection aborted, so shutdown never waits on a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from reevd.store.writes import OtelChunk, WriteOp

T = TypeVar("T")


# Execution ids a feed subscriber keeps past a full queue (about 100 bytes each).
OVERFLOW_MAX = 65536


class Subscription:
    """One stream's queue of notices, and its connection (aborted at shutdown if stuck writing).

    A feed (`keep_overflow`) re-reads nothing on its own, so a notice it cannot queue is kept
    as an id in `overflow` instead of dropped; `changed()` hands both over together.
    """

    def __init__(self, queue_size: int, transport: asyncio.Transport | None, keep_overflow: bool = False) -> None:
        self.queue: asyncio.Queue[Notice | None] = asyncio.Queue(queue_size)
        self.transport = transport
        self.sending = False
        self.keep_overflow = keep_overflow
        self.overflow: set[str] = set()

    def changed(self, first: Notice) -> set[str] | None:
        """`first` plus every id queued or kept since (a burst coalesced); None when closing."""
        ids = {first.execution_id} if first.execution_id else set()
        while not self.queue.empty():
            more = self.queue.get_nowait()
            if more is None:
                return None
            ids.add(more.execution_id)
        ids |= self.overflow
        self.overflow.clear()
        return ids


@dataclass(frozen=True)
class Notice:
    execution_id: str
    has_events: bool


class Hub:
    def __init__(self, queue_size: int = 1024) -> None:
        self._subscribers: set[Subscription] = set()
        self._queue_size = queue_size
        self.closing = False
        self.generation = 0  # counts notices: a read begun at generation g sees every commit noticed by then
        self._reads: dict[Hashable, asyncio.Future[Any]] = {}

    async def shared_read(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """One read for every stream that asks the same question before anything new is noticed.

        A notice wakes every stream of its execution at once, and they mostly ask the same
        (same execution, same position): one read answers them all instead of one each through
        the single reader thread. The key carries the generation, so a read never answers for
        a commit noticed after it began. Waiters get the same object: they must not change it.
        """
        full = (key, self.generation)
        pending = self._reads.get(full)
        if pending is None:
            pending = asyncio.ensure_future(read())
            self._reads[full] = pending
            pending.add_done_callback(lambda _: self._reads.pop(full, None))
        return cast(T, await asyncio.shield(pending))  # a waiter's cancel leaves the read to the others

    @contextmanager
    def subscribe(self, transport: asyncio.Transport | None = None, keep_overflow: bool = False) -> Iterator[Subscription]:
        sub = Subscription(self._queue_size, transport, keep_overflow)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish_ops(self, ops: Sequence[WriteOp], _seconds: float = 0.0) -> None:
        seen: dict[str, bool] = {}
        for op in ops:
            for execution_id in op.execution_ids():  # none for catalog writes
                seen[execution_id] = seen.get(execution_id, False) or isinstance(op, OtelChunk)
        for execution_id, has_events in seen.items():
            self.publish(Notice(execution_id, has_events))

    def publish(self, notice: Notice | None) -> None:
        self.generation += 1
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(notice)
            except asyncio.QueueFull:
                # A stream re-reads its run on its next notice or heartbeat; a feed keeps the id.
                if notice is not None and sub.keep_overflow and len(sub.overflow) < OVERFLOW_MAX:
                    sub.overflow.add(notice.execution_id)

    def connection_lost(self, transport: asyncio.Transport) -> None:
        """A client went away: end its stream now, not at its next heartbeat write."""
        for sub in list(self._subscribers):
            if sub.transport is transport:
                self._put_end(sub)

    def _put_end(self, sub: Subscription) -> None:
        while True:
            try:
                sub.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                sub.queue.get_nowait()

    def close_all(self) -> None:
        """Shutdown: wake every stream so it can end (None = closing); abort those stuck writing."""
        self.closing = True
        for sub in list(self._subscribers):
            if sub.sending and sub.transport is not None:
                sub.transport.abort()  # its client does not read: waiting would hold shutdown
            self._put_end(sub)
