"""WAL checkpoints on a thread of their own, so the writer never waits on one.

SQLite's auto-checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, on the
committing thread: it fsyncs the WAL, copies it into the database, fsyncs that, and the next
transaction then rewrites WAL pages the kernel may still be writing back. Measured on a
1M-line OTEL file (perf/limits_perf.py item 3), the writer thread slept ~10% of its time in
D state (wchan folio_wait_bit) and checkpoints cost ~1.1-1.4 us of its ~5.5 us per row.

Here every write connection has wal_autocheckpoint=0; the writer reports what it commits
(`committed()`) and, once about as much as SQLite's default has gone into the WAL, this thread
then runs a PASSIVE checkpoint on its own connection: it takes no lock the writer or the
readers need. Requests that arrive while one runs make one more run.

SQLite restarts the WAL from its start only at a write transaction that finds every frame
copied, which a writer that never pauses never gives it: the WAL would grow by the size of
everything written (677 MB for a 635 MB database, measured). So once WAL_RESTART_BYTES have
been committed since the last restart, the writer copies the rest itself (`catch_up`), after
the run in progress: a few MB, not the whole WAL, and its next transaction restarts the WAL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("reevd.store")

# SQLite's own default (1,000 pages of 4 KiB), in bytes committed.
CHECKPOINT_EVERY_BYTES = 4 << 20
# The WAL's bound while writes never pause (see above), in bytes committed.
WAL_RESTART_BYTES = 64 << 20


class Checkpointer:
    def __init__(self, path: Path, configure: Callable[[sqlite3.Connection], None]) -> None:
        self._path = path
        self._configure = configure
        self._wanted = threading.Event()
        self._running = threading.Lock()  # one checkpoint at a time: this thread's or the writer's
        self._closing = False
        self._thread: threading.Thread | None = None
        self._owed_bytes = 0  # committed since the last run was asked for
        self.checkpoints = 0  # completed runs (tests read it)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reevd-checkpointer", daemon=True)
        self._thread.start()

    def committed(self, wal_bytes: int) -> None:
        """About `wal_bytes` went into the WAL: ask for a run every CHECKPOINT_EVERY_BYTES. Called
        by whichever side committed; the writer's thread and the loop never commit at once."""
        self._owed_bytes += wal_bytes
        if self._owed_bytes >= CHECKPOINT_EVERY_BYTES:
            self._owed_bytes = 0
            self._wanted.set()  # at most one run is owed however often this is set

    def catch_up(self, conn: sqlite3.Connection) -> bool:
        """On the writer's thread, on its connection: copy every frame left (after the run in
        progress), so the next write transaction restarts the WAL. False if some could not be
        copied (a reader still needs them, a fault): the caller tries again later."""
        with self._running:
            try:
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                log.warning("wal_checkpoint_failed", error=repr(exc))
                return False
        return not busy and frames == copied

    def close(self) -> None:
        """Stop after the run in progress (if any); closing the last connection checkpoints anyway."""
        if self._thread is None:
            return
        self._closing = True
        self._wanted.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._configure(conn)
        except sqlite3.Error as exc:  # the writer's own connection reports the store's state
            log.warning("wal_checkpointer_unavailable", error=repr(exc))
            return
        try:
            while True:
                self._wanted.wait()  # a blocking wait for a request, not a poll
                if self._closing:
                    return
                self._wanted.clear()
                with self._running:
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        self.checkpoints += 1
                    except sqlite3.Error as exc:  # disk full, I/O error: the next request retries
                        log.warning("wal_checkpoint_failed", error=repr(exc))
        finally:
            conn.close()
