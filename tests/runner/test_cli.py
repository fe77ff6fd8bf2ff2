"""reev-runner as a subprocess: the project folder, single files, and every error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runner.conftest import BENCHMARKS, PROJECT_EXPECTED, ROOT

pytestmark = pytest.mark.e2e


def _run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REEV_")}
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_whole_project_folder_in_one_process(tmp_path: Path) -> None:
    """Every project benchmark runs, with X-<id> session ids, the designed score and verdict."""
    proc = _run(str(BENCHMARKS), "--execution-id", "ci", "--sessions-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert f"-- {len(PROJECT_EXPECTED)} ran, 0 skipped" in proc.stdout
    for bench_id, (score, success) in PROJECT_EXPECTED.items():
        session = json.loads((tmp_path / f"session_ci-{bench_id}.json").read_text())
        fr = session["final_result"]
        assert session["benchmark_id"] == bench_id and session["session_id"] == f"ci-{bench_id}"
        assert fr["score"] == pytest.approx(score, abs=1e-6) and fr["success"] is success
        assert fr["status"] == ("Succeeded" if success else "Failed")
        assert (tmp_path / f"enhanced_otel_ci-{bench_id}.jsonl").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_single_file_with_summary_and_default_sessions_dir(tmp_path: Path) -> None:
    """A single file prints score, verdict, action and observation; files go to ./logs/sessions."""
    proc = _run(str(BENCHMARKS / "003-spl-transfer-fail.yml"), "--execution-id", "one", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "score 0.750000" in proc.stdout and "Failed" in proc.stdout
    assert "[signer]" in proc.stdout and "custom program error: 0x1" in proc.stdout
    assert (tmp_path / "logs" / "sessions" / "session_one.json").exists()


def test_session_dir_env_and_uuid_default(tmp_path: Path) -> None:
    """REEV_SESSION_LOG_PATH is honoured and an id is generated when none is given."""
    proc = _run(str(BENCHMARKS / "001-sol-transfer.yml"), env={"REEV_SESSION_LOG_PATH": str(tmp_path / "s")})
    assert proc.returncode == 0, proc.stderr
    [session] = (tmp_path / "s").glob("session_*.json")
    assert len(session.stem.removeprefix("session_")) == 36


def test_bad_yaml_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    """A missing field exits 1 with 'file: field: message' on stderr."""
    bad = tmp_path / "bad.yml"
    bad.write_text((BENCHMARKS / "001-sol-transfer.yml").read_text().replace("prompt:", "prompt_typo:"))
    proc = _run(str(bad), "--sessions-dir", str(tmp_path))
    assert proc.returncode == 1
    assert _one_error_line(proc) == f"reev-runner: {bad}: prompt: missing required field"


def test_unknown_agent_exits_1_naming_known_agents(tmp_path: Path) -> None:
    """--agent with an unknown name lists the known agents."""
    proc = _run(str(BENCHMARKS / "001-sol-transfer.yml"), "--agent", "nope", "--sessions-dir", str(tmp_path))
    assert proc.returncode == 1 and "deterministic" in _one_error_line(proc)
    assert list(tmp_path.iterdir()) == []


def test_unusable_llm_cache_dir_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """REEV_LLM_CACHE_DIR under a regular file exits 1 with one line naming the setting, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {"OPENAI_API_KEY": "sk-test-0123456789", "REEV_LLM_CACHE_DIR": str(blocker / "cache")}
    proc = _run(str(BENCHMARKS / "001-sol-transfer.yml"), "--agent", "gpt-4o-mini", "--sessions-dir", str(tmp_path / "s"), env=env)
    assert proc.returncode == 1 and "REEV_LLM_CACHE_DIR" in _one_error_line(proc)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    """An unsafe --execution-id or a missing path is a usage error."""
    proc = _run(str(BENCHMARKS / "001-sol-transfer.yml"), "--execution-id", "../x", "--sessions-dir", str(tmp_path))
    assert proc.returncode == 2 and "--execution-id" in _one_error_line(proc)
    assert _run(str(tmp_path / "missing.yml")).returncode == 2


def test_mainnet_benchmark_single_file_vs_folder(upstream_benchmarks: Path, tmp_path: Path) -> None:
    """A Jupiter file alone exits 1; in a folder it is a skipped line and the rest run."""
    proc = _run(str(upstream_benchmarks / "100-jup-swap-sol-usdc.yml"), "--sessions-dir", str(tmp_path))
    assert proc.returncode == 1 and "needs mainnet state" in _one_error_line(proc)
    proc = _run(str(upstream_benchmarks), "--execution-id", "up", "--sessions-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "-- 4 ran, 9 skipped" in proc.stdout and "-- skipped 100-jup-swap-sol-usdc" in proc.stdout
    fr = json.loads((tmp_path / "session_up-004-partial-score-spl-transfer.json").read_text())["final_result"]
    assert fr["score"] == pytest.approx(0.785714, abs=1e-6)
