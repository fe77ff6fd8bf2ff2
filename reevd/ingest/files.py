"""Opening a file of logs/sessions safely: never through a symlink, only a regular file."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Refused:
    """Why a file will not be read: a reason for the counter, and details for the log."""

    reason: str
    error: str | None = None


def open_regular(folder: str, name: str) -> tuple[int, os.stat_result] | Refused | None:
    """(fd, fstat) of a regular file, a Refused, or None when the file is gone again."""
    try:
        fd = os.open(os.path.join(folder, name), OPEN_FLAGS)
    except FileNotFoundError:
        return None  # a temp file renamed away, or deleted
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Refused("symlink")  # never followed: it could point outside the folder
        return Refused("unreadable", repr(exc))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return Refused("not_regular_file")
    return fd, st


def read_all(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size + 1  # read past the stat size: the file may have grown since
    while remaining > 0:
        block = os.read(fd, min(remaining, 1 << 20))
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)
