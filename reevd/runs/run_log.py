"""A run's stdout/stderr log (logs/runs/<id>.log): created for the runner, kept bounded, read for errors.

Every open refuses a symlink or anything but a regular file (runner/safe_files.py): a link
planted at a run's log path must never make us append to or truncate a file outside the root.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

from runner.safe_files import open_append, open_regular

log = structlog.get_logger("reevd.runs")

LOG_TAIL_BYTES = 4096


def open_run_log(path: Path) -> int:
    """The fd the runner's stdout/stderr go to. Raises OSError (UnsafeFile for a link)."""
    return open_append(path)


def bound_log(path: Path, limit: int) -> None:
    """Keep a run's log within `limit`: when it passes it, keep its first and last quarters.

    The runner appends (O_APPEND), so its next write lands after what we keep; trimming to
    half the bound means one rewrite per half-bound of output, not one per write. Output that
    arrives while we rewrite is carried over before the truncate; only a write landing between
    the last size check and the truncate could still be lost (microseconds, more if the daemon
    is descheduled right there: a runner's output is never atomic with our truncate).
    """
    try:
        size = path.lstat().st_size
        if size <= limit:
            return
        keep = limit // 4
        fd = open_regular(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            head = os.pread(fd, keep, 0)
            tail = os.pread(fd, keep, size - keep)
            kept = head + f"\n[... {size - 2 * keep} bytes cut ...]\n".encode() + tail
            os.pwrite(fd, kept, 0)
            end = len(kept)
            while True:  # carry over what was appended while we worked
                now = os.fstat(fd).st_size
                if now > size and end + (now - size) > size:
                    return  # a flood mid-trim: leave the rest for the next trim rather than overlap
                if now > size:
                    extra = os.pread(fd, now - size, size)
                    os.pwrite(fd, extra, end)
                    end += len(extra)
                    size = now
                    continue
                os.ftruncate(fd, end)
                break
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("run_log_bound_failed", path=str(path), error=repr(exc))


def log_tail(path: Path) -> str:
    """The last few non-empty lines of a run's log, on one line (for an error message)."""
    try:
        with open(open_regular(path, os.O_RDONLY), "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    return " | ".join(lines[-5:])[-1000:]
