"""Opening a file of logs/sessions safely: never through a symlink, only a regular file."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from runner.safe_files import read_prefix

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class OutOfDescriptors(OSError):
    """EMFILE/ENFILE: transient. The file is retried when descriptors free up, never refused."""


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
        if exc.errno in (errno.EMFILE, errno.ENFILE):
            raise OutOfDescriptors(exc.errno, exc.strerror, exc.filename) from None
        return Refused("unreadable", repr(exc))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return Refused("not_regular_file")
    return fd, st


def read_all(fd: int, size: int) -> bytes:
    """The file's bytes as of its stat size, and one more: a file that grew since is seen to."""
    return read_prefix(fd, size + 1)
