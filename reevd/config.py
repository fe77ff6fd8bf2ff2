"""Daemon configuration: one frozen value built by the CLI, no I/O at import."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path


def default_runner_command() -> tuple[str, ...]:
    """The `reev-runner` installed beside this interpreter (so a venv works without activation)."""
    installed = Path(sys.executable).parent / "reev-runner"
    return (str(installed),) if installed.exists() else (sys.executable, "-m", "runner")


@dataclass(frozen=True)
class Config:
    root: Path
    host: str = "127.0.0.1"
    port: int = 3001
    db_path: Path | None = None
    runner_command: tuple[str, ...] = field(default_factory=default_runner_command)
    max_concurrency: int = field(default_factory=lambda: os.cpu_count() or 2)  # CPU-bound runs
    llm_max_concurrency: int = 16  # LLM runs (they wait on the network)
    llm_max_per_provider: int = 8  # LLM runs calling one provider URL at once
    default_timeout_s: float = 300.0
    max_timeout_s: float = 3600.0
    stop_grace_s: float = 2.0
    run_log_max_bytes: int = 1 << 20
    session_file_max_bytes: int = 16 << 20
    otel_line_max_bytes: int = 1 << 20
    access_log: bool = False
    max_connections: int = 0  # 0: from the descriptor limit (connections.default_max_connections)
    head_timeout_s: float = 10.0  # a connection must start a request within this (slowloris)
    idle_timeout_s: float = 75.0  # an idle keep-alive connection is closed after this
    max_streams: int = 500  # open SSE streams; more get a 503
    stream_send_timeout_s: float = 30.0  # a stream client that takes no data this long is dropped
    fork_server: bool = False  # fork runs from runner/forkserver.py (the CLI turns it on for the default runner)

    @property
    def sessions_dir(self) -> Path:
        return self.root / "logs" / "sessions"

    @property
    def benchmarks_dir(self) -> Path:
        return self.root / "benchmarks"

    @property
    def run_logs_dir(self) -> Path:
        return self.root / "logs" / "runs"

    @property
    def database(self) -> Path:
        return self.db_path if self.db_path is not None else self.root / "db" / "reevd.sqlite3"


def parse_runner_command(text: str) -> tuple[str, ...]:
    """REEVD_RUNNER_CMD is split like argv (shlex), never handed to a shell."""
    parts = tuple(shlex.split(text))
    if not parts:
        raise ValueError("runner command is empty")
    return parts
