"""The session file: upstream's shape plus our keys, written once, atomically, at the end.

Atomic = write a temp file in logs/sessions/.partial (same filesystem, not watched) under a
name that never matches session_*.json, fsync it, os.replace it onto the final name, fsync the
folder. A reader (the daemon) therefore sees either no session file or the complete one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from runner import __version__
from runner.atomic import SESSION_TEMP_SUBFOLDER, write_atomic
from runner.formats import SessionStatus, session_file_name
from runner.secrets import scrub_bytes


def build_session(
    *,
    session_id: str,
    benchmark_id: str,
    agent_type: str,
    start_time: float,
    end_time: float,
    prompt: str,
    steps: list[dict[str, Any]],
    success: bool,
    score: float,
    instruction_score: float,
    onchain_score: float,
    assertions: list[dict[str, Any]],
    error: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`extra`: an LLM agent's top-level fields (model, provider_url, usage, cost_usd)."""
    status = SessionStatus.SUCCEEDED if success else SessionStatus.FAILED
    return {
        "session_id": session_id,
        "benchmark_id": benchmark_id,
        "agent_type": agent_type,
        "start_time": int(start_time),  # epoch seconds, like upstream
        "end_time": int(end_time),
        "events": [],
        "final_result": {
            "success": success,
            "score": score,
            "status": status.value,
            "execution_time_ms": round((end_time - start_time) * 1000),
            "data": {"prompt": prompt, "steps": steps},
            # Ours, beyond upstream's shape:
            "instruction_score": instruction_score,
            "onchain_score": onchain_score,
            "assertions": assertions,
            "error": error,
        },
        "runner_version": __version__,
        **(extra or {}),
    }


def write_session_atomic(sessions_dir: Path, session: dict[str, Any], secrets: tuple[str, ...] = ()) -> Path:
    sessions_dir.mkdir(parents=True, exist_ok=True)
    body = scrub_bytes(orjson.dumps(session, option=orjson.OPT_INDENT_2), secrets) + b"\n"
    return write_atomic(sessions_dir / session_file_name(session["session_id"]), body, temp_subfolder=SESSION_TEMP_SUBFOLDER)
