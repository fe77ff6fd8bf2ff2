"""llm_<session>.jsonl: one line per model request, written as it happens (one os.write each).

Each line: timestamp, session_id, step, turn, request and response (raw JSON), latency_ms,
retries, usage, finish_reason, cached, error. Keys never reach the file: the request body
carries none (the key is a header of the client), and every line is scrubbed of the
configured key anyway before it is written.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from runner.safe_files import open_append

REDACTED = b"***"


class LlmLog:
    def __init__(self, path: Path, session_id: str, secrets: tuple[str, ...] = ()) -> None:
        self.path = path
        self.session_id = session_id
        self._secrets = tuple(s.encode() for s in secrets if s and len(s) >= 4)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = open_append(path)  # never through a planted symlink

    def write(self, record: dict[str, Any]) -> None:
        line = orjson.dumps(
            {
                "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "session_id": self.session_id,
                **record,
            }
        )
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        line += b"\n"
        written = os.write(self._fd, line)
        while written < len(line):
            written += os.write(self._fd, line[written:])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
