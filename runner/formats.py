"""The file contract between the runner (the only writer) and reevd (the only reader).

One definition of file names, ids and record vocabularies, imported by both sides, so the
daemon can never disagree with the runner about what a file is called or what it means.
This module must stay import-light: reevd imports it on its hot path.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

SESSION_PREFIX = "session_"
SESSION_SUFFIX = ".json"
OTEL_PREFIX = "enhanced_otel_"
OTEL_SUFFIX = ".jsonl"

# Ids name files and appear in URLs: letters, digits, '-' and '_' only, so that no id can
# contain a path separator, '..', a NUL or shell metacharacters.
SAFE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")

FileKind = Literal["session", "otel"]


def is_safe_id(value: str) -> bool:
    return bool(SAFE_ID_RE.fullmatch(value))


def session_file_name(session_id: str) -> str:
    return f"{SESSION_PREFIX}{session_id}{SESSION_SUFFIX}"


def otel_file_name(session_id: str) -> str:
    return f"{OTEL_PREFIX}{session_id}{OTEL_SUFFIX}"


def classify_file_name(name: str) -> tuple[FileKind, str] | None:
    """('session'|'otel', id) for a name the daemon should ingest, else None.

    Names whose id is not a safe token are not ours to ingest (returned as None); the
    daemon counts them separately via `looks_like_ours`.
    """
    if name.startswith(SESSION_PREFIX) and name.endswith(SESSION_SUFFIX):
        ident = name[len(SESSION_PREFIX) : -len(SESSION_SUFFIX)]
        return ("session", ident) if is_safe_id(ident) else None
    if name.startswith(OTEL_PREFIX) and name.endswith(OTEL_SUFFIX):
        ident = name[len(OTEL_PREFIX) : -len(OTEL_SUFFIX)]
        return ("otel", ident) if is_safe_id(ident) else None
    return None


def looks_like_ours(name: str) -> bool:
    """True when a name has our prefix/suffix, whether or not its id is safe."""
    return (name.startswith(SESSION_PREFIX) and name.endswith(SESSION_SUFFIX)) or (
        name.startswith(OTEL_PREFIX) and name.endswith(OTEL_SUFFIX)
    )


class EventType(str, Enum):
    """`event_type` of an enhanced OTEL line. The first three are upstream's."""

    PROMPT = "Prompt"
    TOOL_INPUT = "ToolInput"
    TOOL_OUTPUT = "ToolOutput"
    STEP_COMPLETE = "StepComplete"  # metadata: step, transaction_status, error; timing filled
    SESSION_COMPLETE = "SessionComplete"  # metadata: status, success, score, error


class SessionStatus(str, Enum):
    """`final_result.status` of a session file (upstream's vocabulary)."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


# Benchmarks: a folder of YAML files; the launcher runs benchmarks/<id><suffix>, first suffix first.
BENCHMARK_SUFFIXES = (".yml", ".yaml")

# reevd keeps each run's stdout/stderr in logs/runs/<execution id>.log.
RUN_LOG_SUFFIX = ".log"


def run_log_file_name(execution_id: str) -> str:
    return f"{execution_id}{RUN_LOG_SUFFIX}"


def run_log_execution_id(name: str) -> str | None:
    """The execution id a run log's file name stands for, or None when it is not one."""
    ident = name[: -len(RUN_LOG_SUFFIX)] if name.endswith(RUN_LOG_SUFFIX) else ""
    return ident if is_safe_id(ident) else None
