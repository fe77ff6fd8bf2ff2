"""The enhanced OTEL JSONL writer: upstream's record schema, one line per os.write.

Each record is written with a single os.write on an O_APPEND descriptor as it happens (no
userspace buffer), so a tailing reader sees whole lines in order while the run is going.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from runner import __version__
from runner.formats import EventType, otel_file_name
from runner.safe_files import open_append
from runner.secrets import scrub_bytes

OTEL_PATH_ENV = "REEV_ENHANCED_OTEL_FILE"  # upstream's name; "{session_id}" is substituted


def otel_path(sessions_dir: Path, session_id: str, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    template = env.get(OTEL_PATH_ENV)
    if template:
        return Path(template.replace("{session_id}", session_id))
    return sessions_dir / otel_file_name(session_id)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OtelWriter:
    def __init__(self, path: Path, session_id: str, agent_version: str, secrets: tuple[str, ...] = ()) -> None:
        self.path = path
        self._secrets = secrets  # masked in every line (runner/secrets.py)
        self.session_id = session_id
        self.agent_version = agent_version
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = open_append(path)  # never through a planted symlink

    def emit(
        self,
        event_type: EventType,
        *,
        prompt: dict[str, Any] | None = None,
        tool_input: dict[str, Any] | None = None,
        tool_output: dict[str, Any] | None = None,
        flow_ms: int = 0,
        step_ms: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        record = {
            "timestamp": _now(),
            "session_id": self.session_id,
            "reev_runner_version": __version__,
            "reev_agent_version": self.agent_version,
            "event_type": event_type.value,
            "prompt": prompt,
            "tool_input": tool_input,
            "tool_output": tool_output,
            "timing": {"flow_timeuse_ms": flow_ms, "step_timeuse_ms": step_ms},
            "metadata": metadata or {},
        }
        line = scrub_bytes(orjson.dumps(record), self._secrets) + b"\n"
        written = os.write(self._fd, line)
        while written < len(line):  # only on a short write (e.g. disk full mid-line)
            written += os.write(self._fd, line[written:])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> OtelWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
