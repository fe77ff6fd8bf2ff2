"""One-row reads by primary key, answered on the calling thread (the event loop).

A status read is one B-tree lookup of a few microseconds; handing it to a reader thread and
back costs far more than the query (two loop wake-ups, a future, a thread switch per query:
perf/profile_daemon.py status). In WAL mode a reader never waits for the writer, so the loop
never blocks on a commit; a reader can still meet SQLITE_BUSY in rare recovery moments, so
`busy_timeout` is short and callers fall back to the threaded reader on OperationalError.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from reevd.store.reader import EXECUTION_COLUMNS

BUSY_TIMEOUT_MS = 20  # the most a loop-thread read may wait before the caller falls back


class PointReader:
    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA query_only=1")
        self._sql = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?"
        self._names: tuple[str, ...] | None = None

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        """The executions row, or None. Raises sqlite3.OperationalError when the database is busy."""
        cur = self._conn.execute(self._sql, (execution_id,))
        rows = cur.fetchall()  # to the end: the statement resets and no read snapshot stays open
        if not rows:
            return None
        if self._names is None:
            self._names = tuple(d[0] for d in cur.description)
        return dict(zip(self._names, rows[0], strict=True))

    def close(self) -> None:
        self._conn.close()
