"""The single writer: one task owns the one write connection and commits queued ops in batches.

Field notes: one writer, `BEGIN IMMEDIATE` (a deferred transaction that upgrades gets
SQLITE_BUSY at once), batch many rows per transaction (aiosqlite costs 30-40 us per await).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

import aiosqlite
import structlog

from reevd.store.writes import Statement, WriteOp

log = structlog.get_logger("reevd.store")

MAX_BATCH_OPS = 2000

CommitListener = Callable[[Sequence[WriteOp], float], None]


class Writer:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._queue: asyncio.Queue[tuple[WriteOp, asyncio.Future[None]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CommitListener] = []
        self.last_commit_monotonic = time.monotonic()
        self.batches = 0

    def add_listener(self, listener: CommitListener) -> None:
        """Called after each commit with the batch's ops and the commit's duration (s)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reevd-writer")

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def submit(self, op: WriteOp) -> asyncio.Future[None]:
        """Queue an op; the future resolves once it is committed (or fails with the DB error)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((op, fut))
        return fut

    async def write(self, op: WriteOp) -> None:
        await self.submit(op)

    async def close(self) -> None:
        """Drain everything queued so far, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch: list[tuple[WriteOp, asyncio.Future[None]]] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < MAX_BATCH_OPS and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    continue
                batch.append(item)
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[WriteOp, asyncio.Future[None]]]) -> None:
        ops = [op for op, _ in batch]
        statements: list[Statement] = [s for op in ops for s in op.statements()]
        statements.sort(key=lambda s: s[0])  # stable: submission order kept within a phase
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, group in groupby(statements, key=lambda s: s[1]):
                    params: list[Any] = [s[2] for s in group]
                    if len(params) == 1:
                        await self._conn.execute(sql, params[0])
                    else:
                        await self._conn.executemany(sql, params)
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
        except Exception as exc:  # a failed batch must not kill the writer
            if len(batch) > 1:
                # Retry one op per transaction so a single poison op cannot drop its neighbours.
                for item in batch:
                    await self._commit([item])
                return
            error = exc
            log.error("db_write_failed", op=type(ops[0]).__name__, execution_id=ops[0].execution_id, error=repr(exc))
        elapsed = time.perf_counter() - started
        self.batches += 1
        self.last_commit_monotonic = time.monotonic()
        for op, fut in batch:
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
        if error is None:
            for listener in self._listeners:
                try:
                    listener(ops, elapsed)
                except Exception as exc:  # listeners are best-effort notifications
                    log.error("commit_listener_failed", error=repr(exc))
