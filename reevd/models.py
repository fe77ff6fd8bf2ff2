"""Execution states and the small value types shared across the daemon."""

from __future__ import annotations

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


def utc_now_iso() -> str:
    """RFC 3339 UTC with milliseconds, the format of every timestamp reevd emits."""
    return iso_from_epoch(datetime.now(timezone.utc).timestamp())


def iso_from_epoch(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
