"""Atomic file replacement: readers see the old content or the new, never a partial file.

A unique temp file (its name starts with '.', so it never matches a name a watcher ingests),
fsync, os.replace, then fsync the folder so the rename is durable. Unique per writer, so
concurrent writers of one name cannot trample each other's temp file.

The temp file lives in the final folder, or in a hidden subfolder of it (`temp_subfolder`,
same filesystem). From the subfolder the file is published the way maildir delivers mail:
`link()` the complete temp file to the final name, then unlink the temp name. A watcher of
the folder (non-recursive) then sees one event per session, the final name's creation,
instead of created/modified/closed/moved-from on the temp name and a moved-to. Under a burst
those events made watchdog's inotify thread the bottleneck (issue 12, item 4): it pairs each
moved-to with its moved-from by scanning its whole queue of undelivered events (twice), so
40,000 files overflowed the kernel's queue. When the final name exists already (a rewrite)
or the filesystem has no hard links, os.replace publishes it instead, as before.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

# logs/sessions/.partial: where the runner's session file is written before its rename.
SESSION_TEMP_SUBFOLDER = ".partial"


def write_atomic(final: Path, data: bytes, *, temp_subfolder: str | None = None, durable: bool = True) -> Path:
    """Replace `final` with `data` atomically. `durable=False` skips the two fsyncs (only the
    perf scripts' burst writers use it: a burst of thousands of fsyncs measures the disk)."""
    fd, tmp_name = tempfile.mkstemp(dir=temp_folder(final.parent, temp_subfolder), prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        _publish(tmp, final, by_link=tmp.parent != final.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(final.parent)
    return final


def _publish(tmp: Path, final: Path, *, by_link: bool) -> None:
    """Give the complete temp file its final name (atomic either way)."""
    if by_link:
        try:
            os.link(tmp, final)
        except OSError:
            pass  # exists already (replace it), or no hard links here (EPERM, ENOTSUP, ...)
        else:
            tmp.unlink(missing_ok=True)  # a crash before this leaves only a stale temp file behind
            return
    os.replace(tmp, final)


def temp_folder(folder: Path, subfolder: str | None) -> Path:
    """`folder/subfolder` when it is (or can be made) a real directory of ours, else `folder`.

    Never through a symlink: a link planted under that name could send the temp file to
    another filesystem (the rename would fail) or to a folder an attacker reads.
    """
    if subfolder is None:
        return folder
    sub = folder / subfolder
    try:
        st = os.lstat(sub)  # one syscall when it exists (every write but the first)
    except FileNotFoundError:
        try:
            os.mkdir(sub, 0o700)
        except OSError:
            pass  # made by another writer meanwhile, or cannot be made: the lstat says which
        try:
            st = os.lstat(sub)
        except OSError:
            return folder  # read-only parent, quota, ...: the folder itself still works
    except OSError:
        return folder
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return folder
    return sub


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
