"""In-process change notices: the writer publishes after each commit, streams subscribe.

Notices are invalidations ("execution X changed"), never data: a subscriber re-reads the
database, so a slow or lagging subscriber can drop notices without losing anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from reevd.store.writes import OtelChunk, WriteOp


@dataclass(frozen=True)
class Notice:
    execution_id: str
    has_events: bool


class Hub:
    def __init__(self, queue_size: int = 1024) -> None:
        self._subscribers: set[asyncio.Queue[Notice | None]] = set()
        self._queue_size = queue_size

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Notice | None]]:
        queue: asyncio.Queue[Notice | None] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish_ops(self, ops: Sequence[WriteOp], _seconds: float = 0.0) -> None:
        seen: dict[str, bool] = {}
        for op in ops:
            if not op.execution_id:  # catalog writes belong to no execution
                continue
            seen[op.execution_id] = seen.get(op.execution_id, False) or isinstance(op, OtelChunk)
        for execution_id, has_events in seen.items():
            self.publish(Notice(execution_id, has_events))

    def publish(self, notice: Notice | None) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:
                pass  # lagging subscriber: it re-reads state on its next notice

    def close_all(self) -> None:
        """Shutdown: wake every stream so it can end (None = closing)."""
        for queue in list(self._subscribers):
            while True:
                try:
                    queue.put_nowait(None)
                    break
                except asyncio.QueueFull:
                    queue.get_nowait()
