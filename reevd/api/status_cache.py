"""Encoded ExecutionState bodies of recently read executions, kept current by the writer's commits.

The UI polls `GET /executions/{id}` and `/benchmarks/{bid}/status/{id}` for the runs it shows,
so most status reads ask again for what was just answered. Every change to a run goes through
the one writer, whose commit listener (on the loop, after the COMMIT) drops that run's entry
here; the next read takes the row again, on the loop, by primary key (store/point_reads.py).
A read therefore never returns a state older than the last commit the loop has seen, and
needs no thread hop: an entry answers with no query at all, a miss with one B-tree lookup.

This relies on every write op naming every run it changes (`op.execution_ids()`: the one
`op.execution_id` for store/writes.py's ops, all of an eval's runs for EvalQueued).

Memory is bounded by bytes, not entries: a run's result_data can be large (a session file
may be 16 MiB), so bodies above MAX_BODY are served but not kept.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, Protocol

import orjson

from reevd.store.point_reads import PointReader

MAX_BYTES = 8 << 20
MAX_BODY = 256 << 10


class _HasExecutionId(Protocol):
    def execution_ids(self) -> tuple[str, ...]: ...


class StateBody(NamedTuple):
    row: dict[str, Any]
    body: bytes  # the encoded ExecutionState, exactly what the status routes answer


class StatusCache:
    def __init__(
        self,
        points: PointReader,
        fallback: Callable[[str], Awaitable[dict[str, Any] | None]],
        render: Callable[[dict[str, Any]], Any],
        max_bytes: int = MAX_BYTES,
        max_body: int = MAX_BODY,
    ) -> None:
        self._points = points
        self._fallback = fallback  # the threaded reader, when the database is busy for a moment
        self._render = render
        self._entries: OrderedDict[str, StateBody] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._max_body = max_body
        self.hits = self.misses = self.fallbacks = 0

    async def get(self, execution_id: str) -> StateBody | None:
        """The run's current row and encoded state, or None if there is no such run."""
        entry = self._entries.get(execution_id)
        if entry is not None:
            self._entries.move_to_end(execution_id)
            self.hits += 1
            return entry
        self.misses += 1
        try:
            row = self._points.execution(execution_id)
        except sqlite3.OperationalError:
            self.fallbacks += 1
            row = await self._fallback(execution_id)
            # The loop ran other callbacks meanwhile (a commit among them): serve, do not keep.
            return None if row is None else StateBody(row, self._encode(row))
        if row is None:
            return None
        entry = StateBody(row, self._encode(row))
        self._keep(execution_id, entry)
        return entry

    def row(self, execution_id: str) -> dict[str, Any] | None:
        """A cached row without reading the database (streams use it to skip a read)."""
        entry = self._entries.get(execution_id)
        return entry.row if entry is not None else None

    def on_commit(self, ops: Sequence[_HasExecutionId], _seconds: float = 0.0) -> None:
        """Writer commit listener: the runs this batch touched are re-read on their next GET."""
        entries = self._entries
        for op in ops:
            for execution_id in op.execution_ids():
                entry = entries.pop(execution_id, None)
                if entry is not None:
                    self._bytes -= len(entry.body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _encode(self, row: dict[str, Any]) -> bytes:
        return orjson.dumps(self._render(row), option=orjson.OPT_NON_STR_KEYS)

    def _keep(self, execution_id: str, entry: StateBody) -> None:
        size = len(entry.body)
        if size > self._max_body:
            return
        self._entries[execution_id] = entry
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, old = self._entries.popitem(last=False)
            self._bytes -= len(old.body)
