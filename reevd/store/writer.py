"""The single writer: one task owns the one write connection and commits queued ops in batches.

Field notes: one writer, `BEGIN IMMEDIATE` (a deferred transaction that upgrades gets
SQLITE_BUSY at once), batch many rows per transaction (aiosqlite costs 30-40 us per await).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import aiosqlite
import structlog

from reevd.store.writes import Statement, WriteOp

log = structlog.get_logger("reevd.store")

MAX_BATCH_OPS = 2000
_PHASE, _SQL = itemgetter(0), itemgetter(1)  # of a Statement

CommitListener = Callable[[Sequence[WriteOp], float], None]


class Writer:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._queue: asyncio.Queue[tuple[WriteOp, asyncio.Future[None]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CommitListener] = []
        self.last_commit_monotonic = time.monotonic()
        self.batches = 0
        # aiosqlite runs every call as a function on its one thread via `_execute`
        # (0.20-0.22, the range pyproject allows); fall back to one await per statement.
        if not (callable(getattr(conn, "_execute", None)) and hasattr(type(conn), "_conn")):
            raise RuntimeError("this aiosqlite lacks Connection._execute/_conn; install the version pyproject.toml pins")

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
        statements.sort(key=_PHASE)  # stable: submission order kept within a phase
        groups: list[tuple[str, list[Any]]] = [
            (sql, [s[2] for s in group]) for sql, group in groupby(statements, key=_SQL)
        ]
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            # The whole transaction in one hop to aiosqlite's thread: one await per batch
            # instead of one per statement group, so the database never waits for a busy
            # event loop between BEGIN, the statements and COMMIT (perf/ingest_perf.py).
            # aiosqlite's `_execute` is private: the version is pinned and checked at open.
            await self._conn._execute(_apply_batch, self._conn._conn, groups)
        except Exception as exc:  # a failed batch must not kill the writer
            if len(batch) > 1 and not isinstance(exc, sqlite3.OperationalError):
                # A data error belongs to one op: retry one op per transaction so it cannot
                # drop its neighbours. An operational error (busy, I/O, disk full) would fail
                # each of them again, slowly: report it to every caller at once instead.
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


def _apply_batch(conn: sqlite3.Connection, groups: list[tuple[str, list[Any]]]) -> None:
    """One transaction, run on aiosqlite's thread (the only thread that may use `conn`)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in groups:
            if len(params) == 1:
                conn.execute(sql, params[0])
            else:
                conn.executemany(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed BEGIN leaves nothing to roll back
            conn.execute("ROLLBACK")
        raise
