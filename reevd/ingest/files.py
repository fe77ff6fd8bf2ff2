"""Opening a file of logs/sessions safely: never through a symlink, only a regular file."""

from __future__ import annotations

import errno
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from runner.atomic import SESSION_TEMP_SUBFOLDER
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


# A runner links its complete temp file to the final name and unlinks it at once (milliseconds):
# one this old belongs to a runner that died in between.
STALE_TEMP_AGE_S = 3600.0


def remove_stale_temps(folder: Path, older_than_s: float = STALE_TEMP_AGE_S) -> int:
    """Delete the temp files that runners killed mid-write left in `folder`/.partial
    (runner/atomic.py names them `.<final name>.<random>.tmp`); how many. Only regular files
    with such names, older than `older_than_s`; never through a symlink, and only in a
    `.partial` that is a real directory of ours. Errors are skipped: this is housekeeping."""
    try:
        dir_fd = os.open(folder / SESSION_TEMP_SUBFOLDER, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return 0  # none yet, or not a directory we may use
    removed = 0
    try:
        if os.fstat(dir_fd).st_uid != os.geteuid():
            return 0
        cutoff = time.time() - older_than_s
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(".") and name.endswith(".tmp")):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                        os.unlink(name, dir_fd=dir_fd)
                        removed += 1
                except OSError:
                    continue
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return removed
