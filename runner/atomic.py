"""Atomic file replacement: readers see the old content or the new, never a partial file.

A unique temp file in the same folder (its name starts with '.', so it never matches a
name a watcher ingests), fsync, os.replace, then fsync the folder so the rename is durable.
Unique per writer, so concurrent writers of one name cannot trample each other's temp file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(final: Path, data: bytes) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)
    return final


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)
