"""Opening files without following symlinks: only a regular file at the path itself is used.

A link planted at a log's path (logs/sessions, logs/runs) must never make a writer append to,
or truncate, a file outside the folder. Shared by the runner's writers and reevd's run logs.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang the open


class UnsafeFile(OSError):
    """The path is a symlink or not a regular file; the message names it."""


def open_regular(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """os.open(path, flags) refusing symlinks and anything but a regular file. Returns the fd."""
    try:
        fd = os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(errno.ELOOP, f"{path}: is a symbolic link; refusing to follow it") from None
        if exc.errno == errno.ENXIO:  # a FIFO with no reader, opened for writing
            raise UnsafeFile(errno.ENXIO, f"{path}: not a regular file") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeFile(errno.EINVAL, f"{path}: not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_append(path: str | Path, mode: int = 0o644) -> int:
    """A log file opened for appending (created when missing), never through a link."""
    return open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)


def read_prefix(fd: int, limit: int) -> bytes:
    """At most `limit` bytes from `fd`'s position: a file grown huge is never read whole.

    `fd` is a regular file, where a short read is its end: a session file read by size + 1
    takes one read(), not a second one that returns nothing (40,000 files in a burst: 20,000
    syscalls, each a GIL hand-off on the daemon's loop; perf/limits_perf.py item 4)."""
    parts: list[bytes] = []
    left = limit
    while left > 0:
        want = min(left, 1 << 20)
        block = os.read(fd, want)
        parts.append(block)
        left -= len(block)
        if len(block) < want:
            break
    return b"".join(parts)


def read_regular(path: str | Path, limit: int) -> bytes | None:
    """A regular file's bytes, never through a symlink; None when it holds more than `limit`."""
    fd = open_regular(path, os.O_RDONLY)
    try:
        data = read_prefix(fd, limit + 1)
    finally:
        os.close(fd)
    return None if len(data) > limit else data
