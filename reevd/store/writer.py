"""The single writer: one thread owns the one write connection and applies batches in order.

Modelled on datasette's `_execute_writes`: callers on the event loop put work on a thread-safe
queue and await a future; the thread takes everything queued so far (up to MAX_BATCH_OPS),
applies it in submission order inside one `BEGIN IMMEDIATE … COMMIT`, and resolves the
futures on the loop. Work that arrives while a transaction commits forms the next batch, so
a burst costs a few transactions, not one per file (perf/ingest_perf.py). Field notes: one
writer, BEGIN IMMEDIATE (a deferred transaction that upgrades gets SQLITE_BUSY at once).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog

from reevd.store.writes import Statement, WriteOp

log = structlog.get_logger("reevd.store")

MAX_BATCH_OPS = 2000
T = TypeVar("T")

CommitListener = Callable[[Sequence[WriteOp], float], None]


class _Op:
    __slots__ = ("op", "future")

    def __init__(self, op: WriteOp, future: asyncio.Future[None]) -> None:
        self.op, self.future = op, future


class _Call:
    """A function to run on the writer's connection (migrations), in order with the ops."""

    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]) -> None:
        self.fn, self.future = fn, future


_STOP = None
_Item = _Op | _Call | None


class Writer:
    def __init__(self, path: Path, configure: Callable[[sqlite3.Connection], None]) -> None:
        self._path = path
        self._configure = configure
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._listeners: list[CommitListener] = []
        self._pending = 0  # ops submitted and not yet resolved (the backlog)
        self.last_commit_monotonic = time.monotonic()
        self.batches = 0

    def add_listener(self, listener: CommitListener) -> None:
        """Called on the loop after each commit with the batch's ops and the commit's duration (s)."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Open the connection on the writer thread; raises what opening it raised."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._stopped = self._loop.create_future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="reevd-writer", daemon=True)
        self._thread.start()
        await ready

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backlog(self) -> int:
        return self._pending

    def submit(self, op: WriteOp) -> asyncio.Future[None]:
        """Queue an op; the future resolves once it is committed (or fails with the DB error)."""
        assert self._loop is not None, "Writer.start() first"
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending += 1
        fut.add_done_callback(self._resolved)
        self._queue.put(_Op(op, fut))
        return fut

    def _resolved(self, _fut: asyncio.Future[None]) -> None:
        self._pending -= 1

    async def write(self, op: WriteOp) -> None:
        await self.submit(op)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the writer thread, after everything queued before it."""
        assert self._loop is not None, "Writer.start() first"
        fut: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Call(fn, fut))
        return await fut

    async def close(self) -> None:
        """Apply everything queued so far, then stop the thread and close the connection."""
        if self._thread is None or self._stopped is None:
            return
        self._queue.put(_STOP)
        await self._stopped
        self._thread.join()
        self._thread = None

    # --- on the writer thread ---------------------------------------------------------------

    def _to_loop(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._configure(conn)
        except BaseException as exc:
            self._to_loop(_settle, ready, exc, None)
            self._to_loop(_settle, self._stopped, None, None)
            return
        self._to_loop(_settle, ready, None, None)
        try:
            self._serve(conn)
        finally:
            conn.close()
            self._to_loop(_settle, self._stopped, None, None)

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            item = self._queue.get()
            batch: list[_Op] = []
            while True:
                if item is _STOP:
                    self._commit(conn, batch)
                    return
                if isinstance(item, _Call):
                    self._commit(conn, batch)  # keep submission order around a call
                    batch = []
                    try:
                        result = item.fn(conn)
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        self._to_loop(_settle, item.future, exc, None)
                    else:
                        self._to_loop(_settle, item.future, None, result)
                else:
                    batch.append(item)
                if len(batch) >= MAX_BATCH_OPS:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._commit(conn, batch)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        if not batch:
            return
        ops = [item.op for item in batch]
        started = time.perf_counter()
        try:
            _apply(conn, [s for op in ops for s in op.statements()])
        except Exception as exc:  # a failed batch must not kill the writer
            if len(batch) > 1 and not isinstance(exc, sqlite3.OperationalError):
                # A data error belongs to one op: retry one op per transaction so it cannot
                # drop its neighbours. An operational error (busy, I/O, disk full) would fail
                # each of them again, slowly: report it to every caller at once instead.
                for item in batch:
                    self._commit(conn, [item])
                return
            log.error("db_write_failed", op=type(ops[0]).__name__, execution_id=ops[0].execution_id, error=repr(exc))
            self._to_loop(self._done, batch, exc, 0.0)
            return
        self._to_loop(self._done, batch, None, time.perf_counter() - started)

    # --- back on the loop -------------------------------------------------------------------

    def _done(self, batch: list[_Op], error: BaseException | None, elapsed: float) -> None:
        self.batches += 1
        if error is None:
            self.last_commit_monotonic = time.monotonic()
        for item in batch:
            _settle(item.future, error, None)
        if error is None:
            ops = [item.op for item in batch]
            for listener in self._listeners:
                try:
                    listener(ops, elapsed)
                except Exception as exc:  # listeners are best-effort notifications
                    log.error("commit_listener_failed", error=repr(exc))


def _settle(fut: asyncio.Future[Any] | None, error: BaseException | None, result: Any) -> None:
    if fut is None or fut.done():
        return
    if error is None:
        fut.set_result(result)
    else:
        fut.set_exception(error)


def _apply(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    """One transaction; consecutive identical SQL runs as one executemany."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        i, n = 0, len(statements)
        while i < n:
            sql = statements[i][0]
            j = i + 1
            while j < n and statements[j][0] is sql:
                j += 1
            if j - i == 1:
                conn.execute(sql, statements[i][1])
            else:
                conn.executemany(sql, [s[1] for s in statements[i:j]])
            i = j
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed BEGIN leaves nothing to roll back
            conn.execute("ROLLBACK")
        raise
