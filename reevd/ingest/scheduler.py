"""Turns files in logs/sessions into committed state, in batches, no polling.

The watcher (and the startup/overflow scan, and the launcher at process exit) only *mark a
file dirty*. Dirty names wait in a FIFO that one task drains in batches: it reads and parses
up to BATCH_FILES files from their committed positions to EOF, submits all their writes at
once (every OTEL/LLM chunk ahead of every session, so a run's lines commit no later than its
session), and parses the next batch while the writer commits this one. Many events for one
file while it is in a batch collapse into one more pass, so a burst costs one read.

A file whose new bytes exceed one read chunk (a large OTEL file), a session whose OTEL file
has such a task, and a file a caller waits for (the launcher at process exit) get a task of
their own instead, at most MAX_FILE_TASKS at once; the rest wait as names.
What a file's bytes become is decided in sessions.py and otel.py; this module only decides
when, how many at once, and what happens when a commit fails.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from reevd.ingest.files import OutOfDescriptors, Refused, open_regular
from reevd.ingest.llm import llm_chunks
from reevd.ingest.otel import TailCounts, otel_chunks
from reevd.ingest.sessions import read_session, unchanged
from reevd.metrics import Metrics
from reevd.store import Store
from reevd.store.llm_calls import LlmChunk
from reevd.store.writes import FileState, OtelChunk, SessionInvalid, SessionResult, WriteOp
from runner.formats import classify_file_name, llm_file_name, looks_like_ours, otel_file_name, session_file_name

log = structlog.get_logger("reevd.ingest")

# (name, execution_id, fd, stat, committed state, line max, chunk max, counts) -> write ops
ChunkReader = Callable[[str, str, int, os.stat_result, FileState | None, int, int, TailCounts],
                       Iterator[OtelChunk] | Iterator[LlmChunk]]

MAX_PARALLEL_FILES = 64  # files being opened, read and parsed at once (open fds, read buffers)
# Files one batch reads and parses before submitting their writes (~10-30 ms of the loop).
# A task per small file (semaphores, a future awaited per write, a task step per commit)
# cost ~280 us of the loop per file under a 40,000-file burst where a bare read + parse +
# insert costs ~100 us (perf/profile_daemon.py burst).
BATCH_FILES = 200
MAX_AWAITING_COMMIT = 1024  # files whose writes are queued but not yet committed (small ops)
# Files with a task at once. More dirty files wait as names in a FIFO: a burst of 40,000 files
# made 40,000 tasks (coroutine frames and all) and the daemon's RSS grew past 120 MB.
MAX_FILE_TASKS = 4 * MAX_PARALLEL_FILES
# A session file that is still invalid (or too large) this long after its last event, with no
# rename to say its writer finished (a rename-in from another folder only shows "created", and
# the watcher takes no close events: watcher.py), is judged as finished: a one-shot timer per file, re-armed by each event, never a loop.
SETTLE_AFTER_S = 5.0
RETRY_DELAYS_S = (0.5, 2.0, 8.0)  # after a failed commit (a data error), then give up
# Out of file descriptors is transient (a connection flood, a burst): retry until it passes.
FD_RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0)


class Ingestor:
    def __init__(
        self,
        sessions_dir: Path,
        store: Store,
        metrics: Metrics,
        *,
        session_max_bytes: int = 16 << 20,
        line_max_bytes: int = 1 << 20,
    ) -> None:
        self._dir = sessions_dir
        self._dir_str = os.fspath(sessions_dir)
        self._store = store
        self._metrics = metrics
        self._session_max = session_max_bytes
        self._line_max = line_max_bytes
        self._chunk = max(line_max_bytes, 1 << 20) + 1  # bounded RSS: ~2 chunks in flight (perf item 3)
        self._files: dict[str, FileState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty: dict[str, tuple[bool, float]] = {}  # name -> (writer finished?, first event time)
        # FIFOs of dirty names, oldest first. OrderedDict: popitem(last=False) is O(1), where
        # next(iter(d)) on a plain dict skips every slot deleted from its front (it was 4% of the
        # loop's GIL time under a 40,000-file burst, quadratic in the backlog).
        self._waiting: OrderedDict[str, None] = OrderedDict()  # for the batch lane
        self._big: OrderedDict[str, None] = OrderedDict()  # for a task of their own
        self._in_batch: dict[str, asyncio.Future[None]] = {}  # name -> its batch's end (busy)
        self._batcher: asyncio.Task[None] | None = None
        self._gate = asyncio.Semaphore(MAX_PARALLEL_FILES)
        self._committing = asyncio.Semaphore(MAX_AWAITING_COMMIT)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._settle_timers: dict[str, asyncio.TimerHandle] = {}
        self._retries: dict[str, int] = {}
        self._fd_waits: dict[str, int] = {}  # files waiting for descriptors -> attempts so far
        self._fd_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._fd_log_at = 0.0
        self._exit_checks: dict[str, bool] = {}  # sessions the launcher asked for (may be ahead of the watcher)

    async def load(self) -> None:
        """Committed positions of every known file: one query at startup."""
        self._files = await self._store.reader.all_file_states()

    # --- marking files dirty (all called on the loop) -------------------------------------

    def notify(self, name: str, finished: bool, *, start_now: bool = False) -> None:
        """A file named `name` in the sessions folder may have changed.

        `start_now`: give it a task of its own at once, even past MAX_FILE_TASKS (a caller is
        about to wait for it); unless a batch holds it now: then the caller waits for that.
        """
        if self._closing or not looks_like_ours(name):
            return
        if classify_file_name(name) is None:
            self._reject(name, "unsafe_name")
            return
        timer = self._settle_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        was_finished, since = self._dirty.get(name, (False, time.perf_counter()))
        self._dirty[name] = (was_finished or finished, since)
        if name in self._tasks or name in self._in_batch:
            return  # whoever holds it looks again when done
        self._idle.clear()
        if start_now:
            self._waiting.pop(name, None)
            self._big.pop(name, None)
            self._start(name)
        elif name not in self._big:
            self._waiting[name] = None
            if self._batcher is None:
                self._batcher = asyncio.create_task(self._run_batches(), name="ingest:batches")

    def _start(self, name: str) -> None:
        self._tasks[name] = asyncio.create_task(self._drain(name), name=f"ingest:{name}")

    def _start_waiting(self) -> None:
        while self._big and len(self._tasks) < MAX_FILE_TASKS and not self._closing:
            name, _ = self._big.popitem(last=False)
            if name not in self._tasks and name not in self._in_batch and name in self._dirty:
                self._start(name)

    def _maybe_idle(self) -> None:
        if not (self._tasks or self._in_batch or self._waiting or self._big or self._batcher):
            self._idle.set()

    def scan(self) -> int:
        """Mark every changed file in the folder dirty (startup and after an inotify overflow).

        A file whose (dev, inode, size, mtime) is what was last committed costs one lstat here
        and no task: a rescan of a folder of 40,000 ingested files must stay cheap, since an
        overflow comes exactly when the daemon is busiest.

        Names are marked in name order, not the directory's (hash) order: rows then reach the
        tables' B-trees (events, files and executions are keyed by execution id or file name) in
        key order, and a commit dirties a few adjacent pages instead of one page per file. In
        hash order the writer thread took ~2x as long (40,000 files found at startup: 12 s ->
        6.8 s; py-spy: the writer thread 49% of all samples, in executemany). It also puts every
        run's OTEL/LLM file ahead of its session (enhanced_otel_ < llm_ < session_).
        """
        count = 0
        try:
            entries = sorted(os.scandir(self._dir), key=lambda e: e.name)
        except OSError as exc:
            log.error("sessions_scan_failed", error=repr(exc))
            if exc.errno in (errno.EMFILE, errno.ENFILE) and not self._closing:
                asyncio.get_running_loop().call_later(FD_RETRY_DELAYS_S[-1], self.scan)  # transient: scan again
            return 0
        for entry in entries:
            name = entry.name
            try:
                if not looks_like_ours(name):
                    continue
                count += 1
                known = self._files.get(name)
                # A tailed file's chunks each record the size seen at open: one committed before a
                # kill -9 looks unchanged while lines past its offset were never stored.
                fully_read = known is not None and (known.kind == "session" or known.offset >= known.size)
                if known is not None and fully_read and name not in self._tasks and name not in self._in_batch:
                    try:
                        if unchanged(known, entry.stat(follow_symlinks=False)):
                            continue
                    except OSError:
                        pass  # gone or unreadable: the file's task says which
                self.notify(name, finished=True)
            except Exception as exc:  # noqa: BLE001 - one entry never stops the scan of the others
                log.error("sessions_scan_entry_failed", file=name, error=repr(exc))
        return count

    async def ingest_session_now(self, execution_id: str) -> bool:
        """The launcher's path at process exit: ingest the session file if there is one. True if so.

        One lstat, then the watcher's own idempotent path, so the two cannot race. Only a
        regular file counts: a symlink or a directory under that name is no session.
        """
        name = session_file_name(execution_id)
        try:
            st = os.lstat(self._dir / name)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        await self._settled(name)
        return True

    @property
    def files_in_progress(self) -> int:
        """Files marked dirty whose work has not finished yet."""
        return len(self._tasks) + len(self._waiting) + len(self._big) + len(self._in_batch)

    async def wait_idle(self) -> None:
        """Until no file is dirty (tests and perf scripts use this; the daemon never waits on it)."""
        await self._idle.wait()

    async def close(self) -> None:
        self._closing = True
        for timer in self._settle_timers.values():
            timer.cancel()
        self._settle_timers.clear()
        for waiters in self._fd_waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._waiting.clear()
        self._big.clear()
        tasks = list(self._tasks.values()) + ([self._batcher] if self._batcher is not None else [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- per-file work -------------------------------------------------------------------

    async def _settled(self, name: str) -> None:
        """Mark `name` dirty and wait until its task has committed what it found."""
        self._exit_checks[name] = True
        task = await self._own_task(name, finished=True)
        if task is not None:
            await asyncio.shield(task)
        if name in self._fd_waits:  # it could not be opened yet: wait for the retry that can
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._fd_waiters.setdefault(name, []).append(waiter)
            await waiter

    async def _settle_otel_first(self, execution_id: str, look_on_disk: bool) -> None:
        """Commit a run's OTEL and LLM lines before its session: once a run shows a terminal
        status, every event and model call it wrote before the session file is already stored
        (streams, and a dashboard that fetches the transcript on completion, rely on it).

        A session the watcher (or a scan) reported needs no look on disk: inotify reports one
        folder's changes in order, so a line written before the session's rename was reported
        before it, and its file is dirty here already (an overflow's rescan runs first too).
        Two lstats per session cost ~85 us of the loop under a burst (directory lock contention
        with the writers; perf/profile_daemon.py burst). The launcher's path at process exit
        can be ahead of the watcher, so it looks.
        """
        for name in (otel_file_name(execution_id), llm_file_name(execution_id)):
            if look_on_disk:
                if not os.path.lexists(os.path.join(self._dir_str, name)):
                    continue
            elif not (name in self._dirty or name in self._tasks or name in self._in_batch or name in self._retries
                      or name in self._fd_waits):
                continue  # committed up to its last reported change, or never reported
            task = await self._own_task(name, finished=False)
            if task is not None:
                await asyncio.shield(task)

    def _schedule_retry(self, name: str, finished: bool) -> None:
        attempt = self._retries.get(name, 0)
        if attempt >= len(RETRY_DELAYS_S):
            self._retries.pop(name, None)
            log.error("ingest_gave_up", file=name, attempts=attempt)
            self._release_waiters(name)
            return
        self._retries[name] = attempt + 1
        asyncio.get_running_loop().call_later(RETRY_DELAYS_S[attempt], self.notify, name, finished)

    def _release_waiters(self, name: str) -> None:
        """The file is done with (ingested, or given up on): whoever waits for it goes on."""
        self._fd_waits.pop(name, None)
        for waiter in self._fd_waiters.pop(name, []):
            if not waiter.done():
                waiter.set_result(None)

    def _retry_when_descriptors_free(self, name: str, finished: bool, exc: OSError) -> None:
        attempt = self._fd_waits.get(name, 0)
        self._fd_waits[name] = attempt + 1
        now = time.monotonic()
        if now - self._fd_log_at > 10.0:  # a flood is one line per interval, not one per file
            self._fd_log_at = now
            log.warning("ingest_out_of_descriptors", file=name, error=repr(exc), files_waiting=len(self._fd_waits))
        delay = FD_RETRY_DELAYS_S[min(attempt, len(FD_RETRY_DELAYS_S) - 1)]
        asyncio.get_running_loop().call_later(delay, self.notify, name, finished)

    async def _recover_position(self, name: str) -> None:
        """After a failed commit, trust only what the database holds for this file."""
        try:
            committed = await self._store.reader.file_state(name)
        except Exception:  # noqa: BLE001 - the retry will try again
            committed = None
        if committed is None:
            self._files.pop(name, None)
        else:
            self._files[name] = committed

    async def _drain(self, name: str) -> None:
        try:
            while name in self._dirty:
                finished, since = self._dirty.pop(name)
                kind_id = classify_file_name(name)
                assert kind_id is not None  # notify() admits only names it classifies
                kind, execution_id = kind_id
                if kind == "session":
                    await self._settle_otel_first(execution_id, look_on_disk=self._exit_checks.pop(name, False))
                async with self._committing:
                    try:
                        if kind == "session":
                            await self._ingest_session(name, execution_id, finished)
                        else:  # otel_ or llm_ (into llm_calls): the same exactly-once tailing
                            await self._tail(name, execution_id, otel_chunks if kind == "otel" else llm_chunks, kind)
                    except asyncio.CancelledError:
                        raise
                    except OutOfDescriptors as exc:
                        self._retry_when_descriptors_free(name, finished, exc)
                        continue
                    except Exception as exc:  # one bad file never stops ingestion of the others
                        log.error("ingest_failed", file=name, error=repr(exc))
                        await self._recover_position(name)
                        self._schedule_retry(name, finished)
                        continue
                self._retries.pop(name, None)
                self._release_waiters(name)
                self._metrics.feedback_latency.observe(time.perf_counter() - since)
        finally:
            self._tasks.pop(name, None)
            self._start_waiting()
            self._maybe_idle()

    # --- the batch lane --------------------------------------------------------------------

    async def _own_task(self, name: str, finished: bool) -> asyncio.Task[None] | None:
        """Mark `name` dirty and give it a task of its own at once (after the batch holding it,
        if any: the next batch may take it again before we resume, hence the loop)."""
        while True:
            while (end := self._in_batch.get(name)) is not None:
                await asyncio.shield(end)
            self.notify(name, finished, start_now=True)
            if name not in self._in_batch:
                return self._tasks.get(name)

    async def _run_batches(self) -> None:
        """Drain the waiting names, a batch at a time; the previous batch commits meanwhile."""
        unsettled: list[_Batch] = []
        try:
            while self._waiting and not self._closing:
                unsettled.append(self._read_batch())
                if len(unsettled) == 2 or not self._waiting:  # names that come meanwhile go in the next one
                    await self._settle_batch(unsettled[0])
                    del unsettled[0]
            while unsettled and not self._closing:
                await self._settle_batch(unsettled[0])
                del unsettled[0]
        finally:
            for batch in unsettled:  # shutting down: whoever waits for these names stops waiting
                for name in batch.names:
                    if self._in_batch.get(name) is batch.end:
                        del self._in_batch[name]
                if not batch.end.done():
                    batch.end.cancel()
            self._batcher = None
            if self._waiting and not self._closing:
                self._batcher = asyncio.create_task(self._run_batches(), name="ingest:batches")
            self._maybe_idle()

    def _read_batch(self) -> _Batch:
        """Take up to BATCH_FILES waiting names, read and parse them, submit their writes."""
        batch = _Batch(asyncio.get_running_loop().create_future())
        while self._waiting and len(batch.names) < BATCH_FILES:
            name, _ = self._waiting.popitem(last=False)
            if name in self._dirty and name not in self._tasks and name not in self._in_batch:
                self._read_into(batch, name)
        # Every tailed file's chunk before every session: a run's lines commit no later than its
        # session; and ops of one kind side by side become one executemany each in the writer.
        # One queue item and one future for the whole batch (Writer.submit_many): a future and a
        # done callback per op were ~8% of the loop's GIL time under a 40,000-file burst.
        items = batch.tails + batch.sessions
        ops = [op for item in items for op in item.ops]
        batch.commit = self._store.writer.submit_many(ops) if ops else None
        batch.items = items
        self._start_waiting()  # files handed to a task of their own start while this batch commits
        return batch

    def _read_into(self, batch: _Batch, name: str) -> bool:
        """Read one dirty name into the batch. False when it went to a task of its own instead."""
        finished, since = self._dirty.pop(name)
        kind_id = classify_file_name(name)
        assert kind_id is not None  # notify() admits only names it classifies
        kind, execution_id = kind_id
        item = _Item(name, kind, execution_id, finished, since)
        self._in_batch[name] = batch.end
        batch.names.append(name)
        try:
            if kind == "session":
                if not self._otel_first_in_batch(batch, execution_id):
                    return self._to_own_task(name, finished, since)
                op = self._read_session(name, execution_id, finished)
                item.ops = [op] if op is not None else []
                batch.sessions.append(item)
            else:
                ops = self._read_tail_whole(name, execution_id, kind, item.counts)
                if ops is None:
                    return self._to_own_task(name, finished, since)
                item.ops = ops
                batch.tails.append(item)
        except OutOfDescriptors as exc:
            self._retry_when_descriptors_free(name, finished, exc)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops ingestion of the others
            item.ops, item.error = [], exc
            batch.tails.append(item)
        return True

    def _to_own_task(self, name: str, finished: bool, since: float) -> bool:
        self._in_batch.pop(name, None)
        was_finished, first = self._dirty.get(name, (False, since))
        self._dirty[name] = (was_finished or finished, min(first, since))
        self._big[name] = None
        return False

    def _otel_first_in_batch(self, batch: _Batch, execution_id: str) -> bool:
        """The batch-lane half of `_settle_otel_first`: a run's OTEL/LLM file that is waiting is
        read into this batch now (its writes are submitted ahead of the session's); one a batch
        holds is submitted already. False when one has a task of its own (or a retry pending):
        then the session gets a task too, which waits for it."""
        for name in (otel_file_name(execution_id), llm_file_name(execution_id)):
            if name in self._tasks or name in self._big or name in self._retries or name in self._fd_waits:
                return False
            if name in self._in_batch:
                continue
            if name in self._dirty:
                self._waiting.pop(name, None)
                if not self._read_into(batch, name):
                    return False
        return True

    def _read_tail_whole(self, name: str, execution_id: str, kind: str, counts: TailCounts) -> list[WriteOp] | None:
        """A JSONL file's new complete lines as writes, if they fit in one chunk; else None."""
        opened = self._open(name)
        if opened is None:
            return []
        fd, st = opened
        try:
            known = self._files.get(name)
            if st.st_size - (known.offset if known is not None else 0) >= self._chunk:
                return None  # pipelined chunk by chunk on a task of its own (bounded memory)
            chunks = otel_chunks if kind == "otel" else llm_chunks
            return list(chunks(name, execution_id, fd, st, known, self._line_max, self._chunk, counts))
        finally:
            os.close(fd)

    async def _settle_batch(self, batch: _Batch) -> None:
        """After the batch's writes are committed (or failed): positions, counters, waiters."""
        try:
            commit = batch.commit
            if commit is not None:
                if not commit.done():
                    await asyncio.wait((commit,))
                n = sum(len(item.ops) for item in batch.items)
                errors: list[BaseException | None]
                if commit.cancelled():
                    errors = [asyncio.CancelledError()] * n
                elif (failed := commit.exception()) is not None:
                    errors = [failed] * n
                else:
                    errors = commit.result()
                at = 0
                for item in batch.items:
                    for op_error in errors[at:at + len(item.ops)]:
                        if item.error is None and op_error is not None:
                            item.error = op_error
                    at += len(item.ops)
            for item in batch.items:
                name = item.name
                if item.error is not None:
                    log.error("ingest_failed", file=name, error=repr(item.error))
                    await self._recover_position(name)
                    self._schedule_retry(name, item.finished)
                    continue
                if item.ops:
                    last = item.ops[-1]
                    if isinstance(last, (SessionResult, SessionInvalid)):
                        self._session_committed(name, item.execution_id, last)
                    else:
                        self._tail_committed(name, item.kind, last, item.counts)
                self._retries.pop(name, None)
                self._release_waiters(name)
                self._metrics.feedback_latency.observe(time.perf_counter() - item.since)
        finally:
            for name in batch.names:
                if self._in_batch.get(name) is batch.end:
                    del self._in_batch[name]
                    if name in self._dirty and name not in self._tasks and name not in self._big:
                        self._waiting[name] = None  # changed again meanwhile: one more pass
            if not batch.end.done():
                batch.end.set_result(None)

    def _tail_committed(self, name: str, kind: str, op: WriteOp, counts: TailCounts) -> None:
        assert isinstance(op, (OtelChunk, LlmChunk))
        self._files[name] = op.file
        self._count_tail(kind, counts)

    def _count_tail(self, kind: str, counts: TailCounts) -> None:
        """A JSONL file's committed pass, in the counters (batch lane and own task alike)."""
        self._metrics.files_ingested.labels(kind).inc()
        if kind == "otel":
            self._metrics.lines_ingested.inc(counts.lines)
            self._metrics.lines_invalid.inc(counts.invalid)
            self._metrics.lines_oversize.inc(counts.oversize)

    def _open(self, name: str) -> tuple[int, os.stat_result] | None:
        opened = open_regular(self._dir_str, name)
        if isinstance(opened, Refused):
            self._reject(name, opened.reason, **({"error": opened.error} if opened.error else {}))
            return None
        return opened

    async def _ingest_session(self, name: str, execution_id: str, finished: bool) -> None:
        # The gate bounds files being read and parsed; the commit is awaited outside it, so
        # the next files are parsed while the writer commits these.
        async with self._gate:
            op = self._read_session(name, execution_id, finished)
            if op is None:
                return
            commit = self._store.writer.submit(op)
        await commit
        self._session_committed(name, execution_id, op)

    def _read_session(self, name: str, execution_id: str, finished: bool) -> SessionResult | SessionInvalid | None:
        """Open, read and judge a session file: the write it needs, or None (blocking, bounded)."""
        opened = self._open(name)
        if opened is None:
            return None
        fd, st = opened
        try:
            outcome = read_session(name, execution_id, fd, st, self._files.get(name), finished, self._session_max)
        finally:
            os.close(fd)
        if outcome.wait_for_writer:
            self._settle_timers[name] = asyncio.get_running_loop().call_later(
                SETTLE_AFTER_S, self._settle_timer_fired, name)
        if outcome.op is None:
            return None
        if outcome.rejected is not None:
            self._reject(name, outcome.rejected, error=outcome.detail)
        if outcome.session_id_mismatch is not None:
            log.warning("session_id_mismatch", file=name, session_id=outcome.session_id_mismatch,
                        execution_id=execution_id)
        return outcome.op

    def _session_committed(self, name: str, execution_id: str, op: SessionResult | SessionInvalid) -> None:
        self._files[name] = op.file
        if isinstance(op, SessionResult):
            # After the streams this commit woke (they were scheduled first): the log line is
            # ~60 us that an SSE client would otherwise wait on (perf/limits_perf.py item 1).
            asyncio.get_running_loop().call_soon(self._count_session, op)

    def _count_session(self, op: SessionResult) -> None:
        self._metrics.files_ingested.labels("session").inc()
        log.info("session_ingested", execution_id=op.execution_id, status=op.status, score=op.score)

    async def _tail(self, name: str, execution_id: str, chunks: ChunkReader, kind: str) -> None:
        """Commit a JSONL file's new complete lines, chunk by chunk, with its offset (exactly once)."""
        pending: asyncio.Future[None] | None = None
        counts = TailCounts()
        async with self._gate:
            opened = self._open(name)
            if opened is None:
                return
            fd, st = opened
            try:
                for op in chunks(name, execution_id, fd, st, self._files.get(name), self._line_max, self._chunk, counts):
                    self._files[name] = op.file
                    # Pipeline: parse the next chunk while this one commits, but never hold more than two.
                    if pending is not None:
                        await pending
                    pending = self._store.writer.submit(op)
            finally:
                os.close(fd)
        if pending is not None:
            await pending
            self._count_tail(kind, counts)

    def _settle_timer_fired(self, name: str) -> None:
        self._settle_timers.pop(name, None)
        self.notify(name, finished=True)

    def _reject(self, name: str, reason: str, **fields: object) -> None:
        self._metrics.files_rejected.labels(reason).inc()
        log.warning("file_rejected", file=name, reason=reason, **fields)


@dataclass
class _Item:
    """One file read into a batch: its writes, and what to record once they are committed."""

    name: str
    kind: str
    execution_id: str
    finished: bool
    since: float
    ops: list[WriteOp] = field(default_factory=list)
    counts: TailCounts = field(default_factory=TailCounts)
    error: BaseException | None = None


@dataclass
class _Batch:
    end: asyncio.Future[None]  # resolved when every name of the batch is settled
    names: list[str] = field(default_factory=list)
    tails: list[_Item] = field(default_factory=list)
    sessions: list[_Item] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    commit: asyncio.Future[list[BaseException | None]] | None = None  # the writes of every item, in order
