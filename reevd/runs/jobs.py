"""What the launcher knows about a run: the request (Job) and, once spawned, its process (LiveRun)."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from reevd.models import Status


@dataclass
class Job:
    execution_id: str
    benchmark_id: str
    agent: str
    benchmark_path: Path
    timeout_s: float


@dataclass
class LiveRun:
    job: Job
    pid: int
    proc: subprocess.Popen[bytes] | None  # None when re-attached after a daemon restart
    pidfd: int
    log_path: Path
    deadline_timer: asyncio.TimerHandle | None = None
    kill_timer: asyncio.TimerHandle | None = None
    outcome: Status | None = None  # Stopped or Timeout, when this daemon ended it
    exited: bool = False  # the kernel said so (pidfd readable); signals would hit nothing or a reused pid
    done: asyncio.Event = field(default_factory=asyncio.Event)
