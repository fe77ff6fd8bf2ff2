"""A run's stdout/stderr log (logs/runs/<id>.log): created for the runner, kept bounded, read for errors."""

from __future__ import annotations

import os
from pathlib import Path

import structlog

log = structlog.get_logger("reevd.runs")

LOG_TAIL_BYTES = 4096


def bound_log(path: Path, limit: int) -> None:
    """Keep a run's log within `limit`: when it passes it, keep its first and last quarters.

    The runner appends (O_APPEND), so its next write lands after what we keep; trimming to
    half the bound means one rewrite per half-bound of output, not one per write.
    """
    try:
        size = path.stat().st_size
        if size <= limit:
            return
        keep = limit // 4
        with open(path, "r+b") as fh:
            head = fh.read(keep)
            fh.seek(size - keep)
            tail = fh.read(keep)
            fh.seek(0)
            fh.write(head + f"\n[... {size - 2 * keep} bytes cut ...]\n".encode() + tail)
            fh.truncate()
    except OSError as exc:
        log.warning("run_log_bound_failed", path=str(path), error=repr(exc))


def log_tail(path: Path) -> str:
    """The last few non-empty lines of a run's log, on one line (for an error message)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    return " | ".join(lines[-5:])[-1000:]
