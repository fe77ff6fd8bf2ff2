"""Whole runs in process, including runs that fail after they started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.agents import AgentInput, AgentOutput, get_agent
from runner.benchmark import load_benchmark_file
from runner.env import SolanaEnv
from runner.run import run_benchmark
from tests.runner.conftest import BENCHMARKS, PROJECT_EXPECTED


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("bench_id", sorted(PROJECT_EXPECTED))
def test_project_benchmark_scores_and_assertions_hold(tmp_path: Path, bench_id: str) -> None:
    """Solved by the deterministic agent, each benchmark scores as designed and all its assertions hold."""
    bench = load_benchmark_file(BENCHMARKS / f"{bench_id}.yml")
    r = run_benchmark(bench, get_agent("deterministic"), "t", tmp_path)
    score, success = PROJECT_EXPECTED[bench_id]
    assert r.score == pytest.approx(score, abs=1e-6) and r.success is success and r.error is None
    assert r.assertions and all(a["passed"] for a in r.assertions), r.assertions
    assert len(r.steps) == len(bench.step_prompts)


def test_otel_stream_of_a_successful_run(tmp_path: Path) -> None:
    """Prompt, ToolInput, ToolOutput, StepComplete, SessionComplete, in that order."""
    r = run_benchmark(
        load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("deterministic"), "t1", tmp_path
    )
    events = _events(r.otel_path)
    assert [e["event_type"] for e in events] == ["Prompt", "ToolInput", "ToolOutput", "StepComplete", "SessionComplete"]
    assert events[3]["metadata"] == {
        "step": 1,
        "step_name": "001-sol-transfer-step-1",
        "transaction_status": "Success",
        "error": None,
    }
    assert events[4]["metadata"] == {"status": "Succeeded", "success": True, "score": 1.0, "error": None}
    assert {e["session_id"] for e in events} == {"t1"}


class _Exploding:
    name = "exploding"
    version = "0"
    tool_names = ()

    def run(self, inp: AgentInput) -> AgentOutput:
        raise RuntimeError("model unavailable")


def test_agent_exception_still_writes_a_failed_session(tmp_path: Path) -> None:
    """An agent that raises ends the run Failed, with the error in the session and the OTEL."""
    r = run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), _Exploding(), "t2", tmp_path)  # type: ignore[arg-type]
    session = json.loads(r.session_path.read_text())["final_result"]
    assert (session["success"], session["status"], session["score"]) == (False, "Failed", 0.0)
    assert "model unavailable" in session["error"]
    events = _events(r.otel_path)
    assert events[-2]["tool_output"]["success"] is False
    assert events[-1]["event_type"] == "SessionComplete" and "model unavailable" in events[-1]["metadata"]["error"]


def test_vm_error_still_writes_a_failed_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A VM failure during execution is reported as the run's error, not a crash."""

    def boom(self: SolanaEnv, actions: object) -> None:
        raise OSError("vm went away")

    monkeypatch.setattr(SolanaEnv, "execute", boom)
    r = run_benchmark(
        load_benchmark_file(BENCHMARKS / "002-spl-transfer.yml"), get_agent("deterministic"), "t3", tmp_path
    )
    fr = json.loads(r.session_path.read_text())["final_result"]
    assert fr["status"] == "Failed" and fr["error"].startswith("VM error:") and "vm went away" in fr["error"]
