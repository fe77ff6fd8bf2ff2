"""The session writer (atomic) and the OTEL writer (one line per write)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import runner.otel as otel_mod
import runner.atomic as atomic_mod
from runner.atomic import SESSION_TEMP_SUBFOLDER, temp_folder
from runner.formats import EventType, classify_file_name, session_file_name
from runner.otel import OtelWriter, otel_path
from runner.session import build_session, write_session_atomic


def _session(sid: str = "s-1") -> dict:
    return build_session(
        session_id=sid,
        benchmark_id="b",
        agent_type="deterministic",
        start_time=1.0,
        end_time=2.5,
        prompt="p",
        steps=[],
        success=False,
        score=0.75,
        instruction_score=1.0,
        onchain_score=0.0,
        assertions=[],
        error=None,
    )


def test_session_has_upstream_keys_and_ours() -> None:
    """Upstream's keys are all present, plus our scores, assertions, error and version."""
    s = _session()
    assert list(s)[:7] == [
        "session_id",
        "benchmark_id",
        "agent_type",
        "start_time",
        "end_time",
        "events",
        "final_result",
    ]
    fr = s["final_result"]
    assert {"success", "score", "status", "execution_time_ms", "data"} <= set(fr)
    assert {"instruction_score", "onchain_score", "assertions", "error"} <= set(fr) and "runner_version" in s
    assert (fr["status"], fr["execution_time_ms"]) == ("Failed", 1500)


def test_temp_name_is_never_ingested() -> None:
    """The temp file's name is not one the daemon would pick up."""
    assert classify_file_name(".session_s-1.json.k2j3h4.tmp") is None  # runner.atomic's temp names


def test_final_name_appears_only_through_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While bytes are written the final name does not exist; it appears complete, linked from .partial/."""
    final = tmp_path / session_file_name("s-1")
    seen: list[str] = []
    real_write, real_link = os.write, os.link

    def spy_write(fd: int, data: bytes) -> int:
        assert not final.exists(), "final name visible before the data is complete"
        seen.append("write")
        return real_write(fd, data)

    def spy_link(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        assert Path(dst) == final and not final.exists()
        assert Path(src).parent == tmp_path / SESSION_TEMP_SUBFOLDER  # not in the watched folder
        json.loads(Path(src).read_bytes())  # the temp file is already complete
        seen.append("link")
        real_link(src, dst)

    monkeypatch.setattr(atomic_mod.os, "write", spy_write)
    monkeypatch.setattr(atomic_mod.os, "link", spy_link)
    path = write_session_atomic(tmp_path, _session())
    assert path == final and seen[-1] == "link" and "write" in seen
    assert json.loads(final.read_bytes())["session_id"] == "s-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SESSION_TEMP_SUBFOLDER, final.name]
    assert not list((tmp_path / SESSION_TEMP_SUBFOLDER).iterdir())  # the temp name is gone


def test_a_rewrite_replaces_the_old_session(tmp_path: Path) -> None:
    """When the final name exists already, the new content replaces it (no error, no temp left)."""
    write_session_atomic(tmp_path, _session())
    again = dict(_session(), benchmark_id="rewritten")
    write_session_atomic(tmp_path, again)
    assert json.loads((tmp_path / session_file_name("s-1")).read_text())["benchmark_id"] == "rewritten"
    assert not list((tmp_path / SESSION_TEMP_SUBFOLDER).iterdir())


def test_a_symlinked_temp_folder_is_not_followed(tmp_path: Path) -> None:
    """A link planted at .partial never receives the temp file: it is written in the folder itself."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / SESSION_TEMP_SUBFOLDER).symlink_to(elsewhere)
    assert temp_folder(sessions, SESSION_TEMP_SUBFOLDER) == sessions
    write_session_atomic(sessions, _session())
    assert json.loads((sessions / session_file_name("s-1")).read_text())["session_id"] == "s-1"
    assert not list(elsewhere.iterdir())


def test_a_stale_temp_file_does_not_leak_into_the_session(tmp_path: Path) -> None:
    """A temp file left by a crashed writer is neither reused nor appended to."""
    stale = tmp_path / ".session_s-1.json.stale.tmp"
    stale.write_text("garbage")
    write_session_atomic(tmp_path, _session())
    assert json.loads((tmp_path / session_file_name("s-1")).read_text())["final_result"]["score"] == 0.75
    assert stale.read_text() == "garbage"


def test_each_otel_record_is_one_complete_line_per_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every os.write carries exactly one JSON line in upstream's record schema."""
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(otel_mod.os, "write", spy)
    path = tmp_path / "o.jsonl"
    with OtelWriter(path, "s-1", "9.9") as w:
        w.emit(EventType.PROMPT, prompt={"user_prompt": "p"})
        assert path.read_bytes() == writes[0]  # visible as soon as it is emitted
        w.emit(EventType.STEP_COMPLETE, step_ms=3, metadata={"step": 1, "transaction_status": "Success", "error": None})
    assert len(writes) == 2 and all(b.endswith(b"\n") and b.count(b"\n") == 1 for b in writes)
    rec = json.loads(writes[1])
    assert list(rec) == [
        "timestamp",
        "session_id",
        "reev_runner_version",
        "reev_agent_version",
        "event_type",
        "prompt",
        "tool_input",
        "tool_output",
        "timing",
        "metadata",
    ]
    assert rec["event_type"] == "StepComplete" and rec["timing"]["step_timeuse_ms"] == 3


def test_otel_path_honours_upstream_env_var(tmp_path: Path) -> None:
    """REEV_ENHANCED_OTEL_FILE wins, with {session_id} substituted."""
    env = {"REEV_ENHANCED_OTEL_FILE": str(tmp_path / "x_{session_id}.jsonl")}
    assert otel_path(tmp_path / "s", "abc", env) == tmp_path / "x_abc.jsonl"
    assert otel_path(tmp_path / "s", "abc", {}) == tmp_path / "s" / "enhanced_otel_abc.jsonl"
