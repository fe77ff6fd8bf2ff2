"""The single writer: one thread owns the one write connection and applies batches in order.

Ops apply in submission order; only a run of consecutive ops of one kind that declares its
statements commute (WriteOp.commutes_with_its_kind) is grouped statement by statement.

Modelled on datasette's `_execute_writes`: callers on the event loop put work on a thread-safe
queue and await a future (a lone quick op finding the thread idle is committed on the loop
instead: see `_commit_on_loop`); the thread takes everything queued so far (up to MAX_BATCH_OPS),
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

from reevd.store.checkpointer import CHECKPOINT_EVERY_BYTES, WAL_RESTART_BYTES, Checkpointer
from reevd.store.writes import Statement, WriteOp

log = structlog.get_logger("reevd.store")

MAX_BATCH_OPS = 2000
# Store faults (disk full, read-only, I/O error, the file unopenable) are retried with these
# pauses (then the last, forever) until they clear; the batch's callers wait meanwhile and
# /health says why. Other errors belong to the ops and are reported to their callers.
FAULT_RETRY_S = (0.1, 0.25, 0.5, 1.0, 2.0)
FAULT_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
})


def fault_of(exc: BaseException) -> str | None:
    """A description when `exc` is a store fault that may clear by itself, else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.OperationalError) and code is not None and (code & 0xFF) in FAULT_CODES:
        return f"{getattr(exc, 'sqlite_errorname', 'SQLITE_ERROR')}: {exc}"
    return None
T = TypeVar("T")

CommitListener = Callable[[Sequence[WriteOp], float], None]


class _Op:
    __slots__ = ("op", "future")

    def __init__(self, op: WriteOp, future: asyncio.Future[None]) -> None:
        self.op, self.future = op, future


class _Many:
    """Ops submitted together (`Writer.submit_many`): one queue item and one future for them all."""

    __slots__ = ("ops", "future", "errors", "left")

    def __init__(self, ops: list[WriteOp], future: asyncio.Future[list[BaseException | None]]) -> None:
        self.ops, self.future = ops, future
        self.errors: list[BaseException | None] = [None] * len(ops)
        self.left = len(ops)


class _Part:
    """One op of a `_Many` inside a batch: where its outcome goes."""

    __slots__ = ("op", "many", "index")

    def __init__(self, op: WriteOp, many: _Many, index: int) -> None:
        self.op, self.many, self.index = op, many, index


class _Call:
    """A function to run on the writer's connection (migrations), in order with the ops."""

    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]) -> None:
        self.fn, self.future = fn, future


_STOP = None
_Item = _Op | _Many | _Call | None
_InBatch = _Op | _Part


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
        self._calls = 0  # calls queued and not yet settled
        # WAL checkpoints run on a thread of their own (store/checkpointer.py), paced by what
        # is committed, on the thread or on the loop.
        self._checkpointer = Checkpointer(path, configure)
        self._since_restart_bytes = 0  # thread side: committed since the WAL last restarted
        # The loop's own write connection, used only while the thread idles (`_commit_on_loop`):
        # busy_timeout=0 and no auto-checkpoint for good, where switching the thread's connection
        # both ways cost four PRAGMAs, ~40 us of the ~0.7 ms rename -> SSE path (perf item 1).
        self._loop_conn: sqlite3.Connection | None = None
        self._closing = threading.Event()  # also cuts a fault's retry pause short
        self.fault: str | None = None  # set by the thread while the store refuses writes
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
        self._checkpointer.start()
        self._loop_conn = self._open_loop_connection()

    def _open_loop_connection(self) -> sqlite3.Connection | None:
        """None when it cannot be opened: every op then goes through the thread, as before."""
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("loop_connection_unavailable", error=repr(exc))
            return None
        try:
            self._configure(conn)
            conn.execute("PRAGMA busy_timeout=0")  # another writer holds the lock: the thread waits, not the loop
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints have their own thread (they tripled p99 here)
            conn.execute("PRAGMA cache_size=-512")  # a few pages per op; the thread's connection holds the big cache
        except sqlite3.Error as exc:
            conn.close()
            log.warning("loop_connection_unavailable", error=repr(exc))
            return None
        return conn

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def checkpoints(self) -> int:
        """WAL checkpoints the checkpointer thread has completed."""
        return self._checkpointer.checkpoints

    @property
    def backlog(self) -> int:
        return self._pending

    def submit(self, op: WriteOp) -> asyncio.Future[None]:
        """Queue an op; the future resolves once it is committed (or fails with the DB error)."""
        assert self._loop is not None, "Writer.start() first"
        fut: asyncio.Future[None] = self._loop.create_future()
        idle = self._pending == 0 and self._calls == 0 and op.quick
        self._pending += 1
        fut.add_done_callback(self._resolved)
        item = _Op(op, fut)
        if not (idle and self._commit_on_loop(item)):
            self._queue.put(item)
        return fut

    def submit_many(self, ops: list[WriteOp]) -> asyncio.Future[list[BaseException | None]]:
        """Queue ops in this order as one item; the future resolves once every one of them is
        settled, with each op's error (None: committed). Same order, batching, fault handling and
        listener calls as submitting them one by one, without a future and a queue item per op:
        the ingest batch lane submits ~200 files' ops at a time (perf/limits_perf.py item 4)."""
        assert self._loop is not None, "Writer.start() first"
        fut: asyncio.Future[list[BaseException | None]] = self._loop.create_future()
        if not ops:
            fut.set_result([])
            return fut
        many = _Many(list(ops), fut)
        idle = self._pending == 0 and self._calls == 0 and len(ops) == 1 and ops[0].quick
        self._pending += len(ops)
        if not (idle and self._commit_on_loop(_Part(ops[0], many, 0))):
            self._queue.put(many)
        return fut

    def _commit_on_loop(self, item: _InBatch) -> bool:
        """A lone quick op while the thread idles: commit it here, listeners included, and save
        two thread hops and a loop iteration (perf/limits_perf.py item 1: a session file's
        rename -> visible p50 about 0.3 ms lower). Safe: nothing is queued or being applied, and
        only the loop queues work, so the thread stays blocked on its queue meanwhile. False (the
        thread takes it) on a store fault: the loop never waits one out. WAL with
        synchronous=NORMAL does not fsync a commit, only a checkpoint does: that is left to the thread."""
        conn = self._loop_conn
        if conn is None or self.fault is not None or self._closing.is_set():
            return False
        assert self._loop is not None
        started = time.perf_counter()
        try:
            _apply(conn, _in_order([item.op]))
        except Exception as exc:
            if fault_of(exc) is not None:
                return False  # rolled back: the thread retries it until the fault clears
            log.error("db_write_failed", op=type(item.op).__name__, execution_id=item.op.execution_id, error=repr(exc))
            self._done([item], exc, 0.0)
            return True
        self._checkpointer.committed(item.op.wal_bytes)
        self._done([item], None, time.perf_counter() - started)
        return True

    def _resolved(self, _fut: asyncio.Future[None]) -> None:
        self._pending -= 1

    async def write(self, op: WriteOp) -> None:
        await self.submit(op)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the writer thread, after everything queued before it."""
        assert self._loop is not None, "Writer.start() first"
        fut: asyncio.Future[T] = self._loop.create_future()
        self._calls += 1
        fut.add_done_callback(self._call_settled)
        self._queue.put(_Call(fn, fut))
        return await fut

    def _call_settled(self, _fut: asyncio.Future[Any]) -> None:
        self._calls -= 1

    async def close(self) -> None:
        """Apply everything queued so far, then stop the thread and close the connection."""
        if self._thread is None or self._stopped is None:
            return
        self._closing.set()  # a batch stuck on a store fault fails now instead of retrying forever
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        self._queue.put(_STOP)
        await self._stopped
        self._thread.join()
        self._thread = None
        await asyncio.to_thread(self._checkpointer.close)

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
            conn.execute("PRAGMA wal_autocheckpoint=0")  # store/checkpointer.py does them
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
            batch: list[_InBatch] = []
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
                elif isinstance(item, _Many):
                    for index, op in enumerate(item.ops):
                        batch.append(_Part(op, item, index))
                        if len(batch) >= MAX_BATCH_OPS and index < len(item.ops) - 1:
                            self._commit(conn, batch)  # the rest of them in the next transaction
                            batch = []
                else:
                    batch.append(item)
                if len(batch) >= MAX_BATCH_OPS:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._commit(conn, batch)

    def _commit(self, conn: sqlite3.Connection, batch: list[_InBatch]) -> None:
        if not batch:
            return
        ops = [item.op for item in batch]
        started = time.perf_counter()
        error = self._apply_until_no_fault(conn, ops, len(batch))
        if error is None:
            self._pace_checkpoints(conn, sum(op.wal_bytes for op in ops))
            self._to_loop(self._done, batch, None, time.perf_counter() - started)
            return
        if len(batch) > 1 and not isinstance(error, sqlite3.OperationalError):
            # A data error belongs to one op: retry one op per transaction so it cannot
            # drop its neighbours. An operational error would fail each of them again,
            # slowly: report it to every caller at once instead.
            for item in batch:
                self._commit(conn, [item])
            return
        log.error("db_write_failed", op=type(ops[0]).__name__, execution_id=ops[0].execution_id, error=repr(error))
        self._to_loop(self._done, batch, error, 0.0)

    def _pace_checkpoints(self, conn: sqlite3.Connection, committed: int) -> None:
        self._checkpointer.committed(committed)
        self._since_restart_bytes += committed
        if self._since_restart_bytes >= WAL_RESTART_BYTES:
            if self._checkpointer.catch_up(conn):
                self._since_restart_bytes = 0
            else:  # a reader still needs old frames: try again a checkpoint's worth later, not every commit
                self._since_restart_bytes -= CHECKPOINT_EVERY_BYTES

    def _apply_until_no_fault(self, conn: sqlite3.Connection, ops: list[WriteOp], waiting: int) -> Exception | None:
        """Apply the batch; while the store is faulted, pause and retry. The error that ends it, or None."""
        attempt = 0
        while True:
            try:
                _apply(conn, _in_order(ops))
            except Exception as exc:
                fault = fault_of(exc)
                if fault is None or self._closing.is_set():
                    return exc
                if self.fault != fault:
                    log.error("db_store_fault", fault=fault, waiting_ops=waiting)
                self.fault = fault
                self._closing.wait(FAULT_RETRY_S[min(attempt, len(FAULT_RETRY_S) - 1)])
                attempt += 1
                continue
            if self.fault is not None:
                log.info("db_store_recovered", after_attempts=attempt)
                self.fault = None
            return None

    # --- back on the loop -------------------------------------------------------------------

    def _done(self, batch: list[_InBatch], error: BaseException | None, elapsed: float) -> None:
        self.batches += 1
        if error is None:
            self.last_commit_monotonic = time.monotonic()
        for item in batch:
            if type(item) is _Part:
                many = item.many
                if error is not None:
                    many.errors[item.index] = error
                many.left -= 1
                if many.left == 0:
                    self._pending -= len(many.ops)
                    _settle(many.future, None, many.errors)
            else:
                assert isinstance(item, _Op)
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


def _in_order(ops: list[WriteOp]) -> list[Statement]:
    """The batch's statements in submission order; within a run of consecutive ops of one
    class that commute with their kind, grouped by statement (first-seen order) so that
    each becomes one executemany."""
    out: list[Statement] = []
    i, n = 0, len(ops)
    while i < n:
        op = ops[i]
        j = i + 1
        if op.commutes_with_its_kind:
            kind = type(op)
            while j < n and type(ops[j]) is kind and ops[j].commutes_with_its_kind:
                j += 1
        if j - i == 1:
            out.extend(op.statements())
        else:
            groups: dict[str, list[Statement]] = {}
            for other in ops[i:j]:
                for statement in other.statements():
                    groups.setdefault(statement[0], []).append(statement)
            for group in groups.values():
                out.extend(group)
        i = j
    return out


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
