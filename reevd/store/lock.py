"""One daemon per database: an exclusive lock held for the daemon's life.

The lock is a `flock` on `<database>.lock` in the database's folder, taken before anything
else happens at start (before any run is recovered or launched). The file names the holder,
so a second `reevd serve` can say who has it. The kernel drops the lock when the holder
exits, however it exits (kill -9 included): nothing stale to clean up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseLocked(RuntimeError):
    """Another process holds the database; the message names it."""


class DatabaseLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, database: Path) -> "DatabaseLock":
        database.parent.mkdir(parents=True, exist_ok=True)
        path = database.with_name(database.name + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "a process that has not said who it is"
            os.close(fd)
            raise DatabaseLocked(f"database {database} is in use by another reevd: {holder}") from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.describe(f"pid {os.getpid()}, starting")
        return lock

    def describe(self, holder: str) -> None:
        """Say who holds the lock (read by the next daemon that tries)."""
        data = holder.encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = -1
