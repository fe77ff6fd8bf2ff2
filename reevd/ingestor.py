"""Turns files in logs/sessions into committed state: one task per dirty file, no polling.

The watcher (and the startup/overflow scan, and the launcher at process exit) only *mark a
file dirty*. A file's task then reads from its committed position to EOF. Many events for
one file while its task runs collapse into one more pass, so a burst costs one read.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import time
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path

import structlog

from reevd.ingest import PROGRESS_BY_EVENT, InvalidInput, parse_otel_line, parse_session
from reevd.metrics import Metrics
from reevd.models import utc_now_iso
from reevd.store import Store
from reevd.store.writes import EventRow, FileState, OtelChunk, SessionInvalid, SessionResult
from reevd.tail import read_lines
from runner.formats import classify_file_name, looks_like_ours, otel_file_name, session_file_name

log = structlog.get_logger("reevd.ingest")

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_PARALLEL_FILES = 64  # files being opened, read and parsed at once (open fds, read buffers)
MAX_AWAITING_COMMIT = 1024  # files whose writes are queued but not yet committed (small ops)
# A session file that is still invalid this long after its last event, with no close or
# rename to say its writer finished (a rename-in from another folder only shows "created"),
# is judged as finished: a one-shot timer per file, re-armed by each event, never a loop.
SETTLE_AFTER_S = 5.0
RETRY_DELAYS_S = (0.5, 2.0, 8.0)  # after a failed commit (disk full, I/O error), then give up

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
        self._chunk = max(4 * line_max_bytes, 1 << 20) + 1
        self._files: dict[str, FileState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty: dict[str, tuple[bool, float]] = {}  # name -> (writer finished?, first event time)
        self._gate = asyncio.Semaphore(MAX_PARALLEL_FILES)
        self._committing = asyncio.Semaphore(MAX_AWAITING_COMMIT)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._settle_timers: dict[str, asyncio.TimerHandle] = {}
        self._retries: dict[str, int] = {}

    async def load(self) -> None:
        """Committed positions of every known file: one query at startup."""
        self._files = await self._store.reader.all_file_states()

    # --- marking files dirty (all called on the loop) -------------------------------------

    def notify(self, name: str, finished: bool) -> None:
        """A file named `name` in the sessions folder may have changed."""
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
        if name not in self._tasks:
            self._idle.clear()
            self._tasks[name] = asyncio.create_task(self._drain(name), name=f"ingest:{name}")

    def scan(self) -> int:
        """Mark every file in the folder dirty (startup and after an inotify overflow).

        Unchanged files cost one stat: the task compares (dev, inode, size, mtime) first.
        """
        count = 0
        try:
            entries = list(os.scandir(self._dir))
        except OSError as exc:
            log.error("sessions_scan_failed", error=repr(exc))
            return 0
        for entry in entries:
            if looks_like_ours(entry.name):
                self.notify(entry.name, finished=True)
                count += 1
        return count

    async def ingest_session_now(self, execution_id: str) -> bool:
        """Launcher's path at process exit: ingest the session file if there is one. True if so.

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
        self.notify(name, finished=True)
        task = self._tasks.get(name)
        if task is not None:
            await asyncio.shield(task)
        return True

    async def wait_idle(self) -> None:
        """Until no file is dirty (tests and perf scripts use this; the daemon never waits on it)."""
        await self._idle.wait()

    async def close(self) -> None:
        self._closing = True
        for timer in self._settle_timers.values():
            timer.cancel()
        self._settle_timers.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- per-file work -------------------------------------------------------------------

    async def _settle_otel_first(self, execution_id: str) -> None:
        """Commit a run's OTEL lines before its session: once a run shows a terminal status,
        every event it wrote before the session file is already stored (streams rely on it)."""
        otel = otel_file_name(execution_id)
        if not os.path.lexists(os.path.join(self._dir_str, otel)):
            return
        self.notify(otel, finished=False)
        task = self._tasks.get(otel)
        if task is not None:
            await asyncio.shield(task)

    def _schedule_retry(self, name: str, finished: bool) -> None:
        attempt = self._retries.get(name, 0)
        if attempt >= len(RETRY_DELAYS_S):
            self._retries.pop(name, None)
            log.error("ingest_gave_up", file=name, attempts=attempt)
            return
        self._retries[name] = attempt + 1
        asyncio.get_running_loop().call_later(RETRY_DELAYS_S[attempt], self.notify, name, finished)

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
                if kind_id is not None and kind_id[0] == "session":
                    await self._settle_otel_first(kind_id[1])
                # The gate bounds files being read and parsed; waiting for the commit happens
                # outside it, so the next files are parsed while the writer commits these.
                async with self._committing:
                    try:
                        async with self._gate:
                            committed = await self._process(name, finished)
                        if committed is not None:
                            await committed
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # one bad file never stops ingestion of the others
                        log.error("ingest_failed", file=name, error=repr(exc))
                        await self._recover_position(name)
                        self._schedule_retry(name, finished)
                        continue
                self._retries.pop(name, None)
                self._metrics.feedback_latency.observe(time.perf_counter() - since)
        finally:
            self._tasks.pop(name, None)
            if not self._tasks:
                self._idle.set()

    def _settle_timer_fired(self, name: str) -> None:
        self._settle_timers.pop(name, None)
        self.notify(name, finished=True)

    def _reject(self, name: str, reason: str, **fields: object) -> None:
        self._metrics.files_rejected.labels(reason).inc()
        log.warning("file_rejected", file=name, reason=reason, **fields)

    def _open(self, name: str) -> tuple[int, os.stat_result] | None:
        try:
            fd = os.open(os.path.join(self._dir_str, name), OPEN_FLAGS)
        except FileNotFoundError:
            return None  # gone again (a temp file renamed away, or deleted)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._reject(name, "symlink")  # never followed: it could point outside the folder
            else:
                self._reject(name, "unreadable", error=repr(exc))
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self._reject(name, "not_regular_file")
            return None
        return fd, st

    async def _process(self, name: str, finished: bool) -> Awaitable[None] | None:
        """Read, parse and queue the file's writes; returns what completes once they commit."""
        kind_id = classify_file_name(name)
        assert kind_id is not None
        kind, execution_id = kind_id
        opened = self._open(name)
        if opened is None:
            return None
        fd, st = opened
        try:
            if kind == "session":
                return await self._ingest_session(name, execution_id, fd, st, finished)
            return await self._tail_otel(name, execution_id, fd, st)
        finally:
            os.close(fd)

    async def _ingest_session(
        self, name: str, execution_id: str, fd: int, st: os.stat_result, finished: bool
    ) -> Awaitable[None] | None:
        known = self._files.get(name)
        if known is not None and (known.dev, known.inode, known.size, known.mtime_ns) == (
            st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
        ):
            return None  # already ingested exactly this content
        file = FileState(name, "session", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        now = utc_now_iso()
        if st.st_size > self._session_max:
            if finished:
                message = f"session file too large: {st.st_size} bytes (limit {self._session_max})"
                self._reject(name, "too_large", size=st.st_size)
                await self._store.writer.write(SessionInvalid(execution_id, message, now, file))
                self._files[name] = file
            return None
        data = _read_all(fd, st.st_size)
        try:
            parsed = parse_session(data)
        except InvalidInput as exc:
            if not finished:
                # Half-written: the writer's close or rename will bring us back, or the timer.
                self._settle_timers[name] = asyncio.get_running_loop().call_later(
                    SETTLE_AFTER_S, self._settle_timer_fired, name)
                return None
            message = f"invalid session file {name}: {exc}"
            self._reject(name, "invalid_session", error=str(exc))
            await self._store.writer.write(SessionInvalid(execution_id, message[:2000], now, file))
            self._files[name] = file
            return None
        if parsed.session_id is not None and parsed.session_id != execution_id:
            log.warning("session_id_mismatch", file=name, session_id=parsed.session_id, execution_id=execution_id)
        op = SessionResult(
            execution_id=execution_id,
            benchmark_id=parsed.benchmark_id,
            agent=parsed.agent,
            status=parsed.status.value,
            started_at=parsed.started_at,
            finished_at=parsed.finished_at or now,
            score=parsed.score,
            error_message=parsed.error_message,
            result_data=parsed.result_json,
            now=now,
            file=file,
        )
        return self._session_committed(self._store.writer.submit(op), name, file, parsed.status.value, parsed.score)

    async def _session_committed(
        self, commit: Awaitable[None], name: str, file: FileState, status: str, score: float | None
    ) -> None:
        await commit
        self._files[name] = file
        self._metrics.files_ingested.labels("session").inc()
        log.info("session_ingested", execution_id=file.execution_id, status=status, score=score)

    async def _tail_otel(self, name: str, execution_id: str, fd: int, st: os.stat_result) -> Awaitable[None] | None:
        state = self._files.get(name)
        replaced = False
        if state is None:
            state = FileState(name, "otel", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        elif (state.dev, state.inode) != (st.st_dev, st.st_ino) or st.st_size < state.offset:
            log.info("otel_file_replaced", file=name, old_offset=state.offset, size=st.st_size)
            state = FileState(name, "otel", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            replaced = True
        if not replaced and state.offset >= st.st_size and not state.skipping:
            return None
        pending: asyncio.Future[None] | None = None
        first_chunk = True
        while True:
            # Read up to the size fstat gave: a write after that fstat brings its own event.
            chunk = read_lines(fd, state.offset, state.skipping, self._line_max, self._chunk, end=st.st_size)
            if chunk.new_offset == state.offset and not (replaced and first_chunk):
                break  # only a partial line (or nothing) left: wait for its newline
            events: list[EventRow] = []
            invalid = 0
            progress: float | None = None
            benchmark_id = agent = ""
            for offset, line in chunk.lines:
                try:
                    ev = parse_otel_line(line)
                except InvalidInput as exc:
                    invalid += 1
                    log.warning("otel_line_skipped", execution_id=execution_id, offset=offset, error=str(exc)[:200])
                    continue
                events.append(EventRow(offset, ev.event_type, ev.timestamp, ev.tool_name, ev.body))
                step = PROGRESS_BY_EVENT.get(ev.event_type)
                if step is not None and (progress is None or step > progress):
                    progress = step
                benchmark_id = benchmark_id or ev.benchmark_id
                agent = agent or ev.agent
            if chunk.oversize:
                log.warning("otel_line_oversize", execution_id=execution_id, count=chunk.oversize)
            state = replace(
                state,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                offset=chunk.new_offset,
                lines=state.lines + len(events),
                invalid=state.invalid + invalid,
                oversize=state.oversize + chunk.oversize,
                skipping=chunk.skipping,
            )
            op = OtelChunk(execution_id, state, events, replaced and first_chunk, progress, benchmark_id, agent, utc_now_iso())
            self._files[name] = state
            # Pipeline: parse the next chunk while this one commits, but never hold more than two.
            if pending is not None:
                await pending
            pending = self._store.writer.submit(op)
            # Yield once so the writer task hands this chunk to the database thread now, while
            # we parse the next one; without it the commit only started once we awaited it.
            await asyncio.sleep(0)
            self._metrics.lines_ingested.inc(len(events))
            self._metrics.lines_invalid.inc(invalid)
            self._metrics.lines_oversize.inc(chunk.oversize)
            first_chunk = False
            if chunk.new_offset >= st.st_size:
                break
        return self._otel_committed(pending)

    async def _otel_committed(self, last: Awaitable[None] | None) -> None:
        if last is not None:
            await last
        self._metrics.files_ingested.labels("otel").inc()


def _read_all(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size + 1  # read past the stat size: the file may have grown since
    while remaining > 0:
        block = os.read(fd, min(remaining, 1 << 20))
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)
