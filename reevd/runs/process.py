"""Process facts from the kernel: start times (against pid reuse), pidfds (exit as an event), signals."""

from __future__ import annotations

import os
from pathlib import Path
import select
import signal


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: the process start time, unique per pid incarnation."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def is_same_process(pid: int, expected_start: int | None) -> bool:
    if pid <= 0:
        return False
    ticks = start_ticks(pid)
    return ticks is not None and (expected_start is None or ticks == expected_start) and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return True
    state = data[data.rfind(b")") + 2 :][:1]
    return state in (b"Z", b"X")


def open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def pidfd_exited(pidfd: int) -> bool:
    """Has the process behind this pidfd exited? (readable = gone; asked once, never in a loop)"""
    if pidfd < 0:
        return False
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal a whole process group; False if it no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "runner exited (status unknown: it was not this daemon's child)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"runner killed by {name} ({-returncode})"
    return f"runner exited with code {returncode}"


def find_runner(execution_id: str, log_path: Path | None = None) -> tuple[int, int] | None:
    """(pid, start ticks) of a live runner of `execution_id`: a process whose argv says
    `--execution-id=<execution_id>`, or whose stdout is the run's log (a run forked by the fork
    server keeps the server's argv in /proc, but its stdout is always `logs/runs/<id>.log`).

    Read once per recovered run at startup (never in a loop): it finds a runner the daemon
    spawned but died before recording, so that run is re-attached instead of guessed at.
    """
    wanted = f"--execution-id={execution_id}".encode()
    log_target = os.path.realpath(log_path) if log_path is not None else None
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        match = wanted in argv
        if not match and log_target is not None:
            try:
                match = os.readlink(f"/proc/{entry}/fd/1") == log_target
            except OSError:
                match = False
        if match:
            pid = int(entry)
            ticks = start_ticks(pid)
            if ticks is not None and not _is_zombie(pid):
                return pid, ticks
    return None
