"""The rules about an execution's status, in one place: the states, which are terminal, how
a run's own report becomes its verdict, and the SQL fragments that say the same in queries.

Everything else asks this module: the UPSERTs (store/writes.py), the reader, the API views.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any


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


def sql_list(statuses: Iterable[Status]) -> str:
    """A status set as an SQL list literal, e.g. "('Completed','Failed')"; built from the Enum only."""
    return "(" + ",".join(f"'{s.value}'" for s in sorted(statuses, key=lambda s: s.value)) + ")"


TERMINAL_SQL = sql_list(TERMINAL)
ACTIVE_SQL = sql_list(ACTIVE)
# Runs that ended with a verdict of their own (Completed, or Failed), as agent performance counts them.
JUDGED: frozenset[Status] = frozenset({Status.COMPLETED, Status.FAILED})
JUDGED_SQL = sql_list(JUDGED)


def verdict(final_result: Mapping[str, Any]) -> Status:
    """The one decision of whether a run succeeded, from its session file's `final_result`.

    Upstream's `status` string wins when it says Succeeded/Failed; otherwise the `success`
    flag decides. Completed means succeeded, Failed means it ran to a result and failed.
    """
    status = final_result.get("status")
    if isinstance(status, str) and status.lower() in ("succeeded", "completed", "success"):
        return Status.COMPLETED
    if isinstance(status, str) and status.lower() == "failed":
        return Status.FAILED
    return Status.COMPLETED if final_result.get("success") is True else Status.FAILED


def outcome_label(status: str | Status) -> str:
    """Upstream's Succeeded/Failed for a judged or ended run (anything but Completed failed)."""
    return "Succeeded" if Status(status) is Status.COMPLETED else "Failed"


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
    """The inverse of iso_from_epoch (Python 3.11's fromisoformat reads the 'Z' suffix)."""
    return datetime.fromisoformat(iso).timestamp()
