"""Execution states and the small value types shared across the daemon."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from enum import Enum


class Status(str, Enum):
    """An execution's status, PascalCase as upstream's API and web UI expect."""

    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"
    TIMEOUT = "Timeout"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.FAILED, Status.STOPPED, Status.TIMEOUT})
ACTIVE: frozenset[Status] = frozenset({Status.QUEUED, Status.RUNNING})


class Origin(str, Enum):
    """Who created an execution row: the launcher (API) or a file found on disk."""

    API = "api"
    DISK = "disk"


_now_cache: tuple[int, str] = (-1, "")


def utc_now_iso() -> str:
    """RFC 3339 UTC with milliseconds, the format of every timestamp reevd emits.

    Formatted once per millisecond: a burst of ingested files asks for it per file.
    """
    global _now_cache
    ms = time.time_ns() // 1_000_000
    if _now_cache[0] != ms:
        _now_cache = (ms, iso_from_epoch(ms / 1000))
    return _now_cache[1]


def iso_from_epoch(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_from_iso(iso: str) -> float:
    """The inverse of iso_from_epoch (accepts the 'Z' suffix on Python 3.10 too)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
