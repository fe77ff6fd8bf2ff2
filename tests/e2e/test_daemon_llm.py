"""LLM agents through the daemon: saved settings reach the runner's environment, runs score,
tokens show, evals report, and the key appears in no file, response, log line or argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Turn, by_turn
from tests.e2e.test_daemon_launch import make_root
from tests.helpers import REPO, Daemon, eventually, http
from tests.runner.llm_scripts import SOLUTIONS

pytestmark = pytest.mark.e2e

KEY = "sk-daemon-SECRET-5150"
AGENT = "openai:fake-model"


def _env() -> dict[str, str]:
    # The daemon's own environment holds no key: only the saved settings do.
    return {k: "" for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REEV_LLM_CACHE_DIR")} | {"REEV_LLM_PRICES": "fake-model=2/8"}


def _slow_first_turn() -> list[Turn]:
    first, last = SOLUTIONS["001-sol-transfer"]
    return [Turn(calls=first.calls, delay_s=1.5), last]


def _files_text(root: Path) -> dict[Path, str]:
    return {p: p.read_text(errors="replace") for p in (root / "logs").rglob("*") if p.is_file()} | {
        root / "daemon.log": (root / "daemon.log").read_text(errors="replace")}


def test_saved_settings_run_an_llm_agent_end_to_end(tmp_path: Path, daemon_factory: Any) -> None:
    """Save the fake server's URL and key, run 001: Completed, score 1, tokens and cost visible; key only in the runner's environment."""
    responses: list[Any] = []
    with FakeOpenAI(by_turn(_slow_first_turn()), key=KEY) as fake:
        # A fresh process (no fork server): its /proc/<pid>/environ is the environment it was given.
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env() | {"REEVD_FORK_SERVER": "0"}).start()
        status, before = d.get("/agents?detail=true")
        assert status == 200 and {a["name"]: a for a in before["agents"]}["gpt-4o-mini"]["missing"] == "OPENAI_API_KEY"
        status, body = d.post("/benchmarks/001-sol-transfer/run", {"agent": AGENT})
        assert status == 400 and body["error"] == "agent_not_configured" and "OPENAI_API_KEY" in body["message"]
        status, saved = d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        assert status == 200 and saved["status"] == "saved"
        status, agents = d.get("/agents?detail=true")
        info = {a["name"]: a for a in agents["agents"]}[AGENT]
        assert (info["runnable"], info["missing"], info["base_url"], info["model"]) == (True, None, fake.base_url, "fake-model")
        status, tested = d.post("/agents/test", {"agent_type": AGENT})
        assert tested["status"] == "success" and tested["network_checked"] is True and tested["latency_ms"] > 0
        assert "fake-model" in tested["message"]
        responses += [before, body, saved, agents, tested]

        status, started = d.post("/benchmarks/001-sol-transfer/run", {"agent": AGENT})
        assert status == 200, started
        execution_id = started["execution_id"]
        pids = [d.runner_pid(execution_id)]
        for pid in pids:
            assert KEY.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pids[0]}/environ").read_bytes()
        # Empty once the runner has exited (a loaded machine can get there first); the fake's
        # auth check below then still proves the key reached it, and argv and files never held it.
        assert not environ or f"OPENAI_API_KEY={KEY}".encode() in environ, "the key is not in the runner's environment"
        final = d.wait_status(execution_id, {"Completed", "Failed"}, timeout=60)
    assert fake.violations == []
    assert final["status"] == "Completed" and final["score"] == 1.0, final
    llm = final["result_data"]["llm"]
    assert llm["model"] == "fake-model" and llm["usage"]["requests"] == 2 and llm["usage"]["total_tokens"] > 0
    assert llm["cost_usd"] == pytest.approx((llm["usage"]["prompt_tokens"] * 2 + llm["usage"]["completion_tokens"] * 8) / 1e6)
    calls = eventually(lambda: (lambda r: r[1] if r[0] == 200 and len(r[1]["calls"]) == 2 else None)(d.get(f"/executions/{execution_id}/llm")),
                       10, "two ingested llm calls")
    assert calls["calls"][0]["call"]["request"]["model"] == "fake-model"
    status, perf = d.get("/agent-performance")
    mine = next(p for p in perf if p["agent_type"] == AGENT)
    assert mine["total_tokens"] == llm["usage"]["total_tokens"] and mine["mean_latency_ms"] > 0 and mine["cost_usd"] > 0
    status, config = d.get(f"/agents/config/{AGENT}")
    responses += [final, calls, perf, config]
    assert config["api_key"] == "***5150"
    for response in responses:
        assert KEY not in json.dumps(response)
    for path, text in _files_text(d.root).items():
        assert KEY not in text, path


def test_eval_matrix_reports_cells_and_the_cli_waits_on_the_feed(tmp_path: Path, daemon_factory: Any) -> None:
    """`reevd eval --wait` over two agents x one benchmark x two epochs returns the per-cell report; compare agrees."""
    with FakeOpenAI(by_turn(list(SOLUTIONS["001-sol-transfer"])), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        status, bad = d.post("/evals", {"agents": [AGENT, "gemini"], "benchmarks": "all", "epochs": 1})
        assert status == 400 and "gemini" in bad["message"]
        status, bad = d.post("/evals", {"agents": [AGENT], "benchmarks": ["001-sol-transfer"], "epochs": 0})
        assert status == 400 and bad["message"].startswith("epochs")
        proc = subprocess.run(
            [sys.executable, "-m", "reevd", "eval", "--url", d.url, "--agents", f"deterministic,{AGENT}",
             "--benchmarks", "001-sol-transfer", "--epochs", "2", "--wait", "--json"],
            capture_output=True, text=True, timeout=90, cwd=REPO,
        )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["runs"], report["finished"], report["status"]) == (4, 4, "completed")
    cells = {c["agent"]: c for c in report["cells"]}
    assert set(cells) == {"deterministic", AGENT}
    for c in cells.values():
        assert (c["runs"], c["finished"], c["mean_score"], c["stderr"], c["pass_rate"]) == (2, 2, 1.0, 0.0, 1.0)
    assert cells[AGENT]["total_tokens"] > 0 and cells[AGENT]["mean_latency_ms"] > 0 and cells["deterministic"]["total_tokens"] == 0
    assert cells["deterministic"]["mean_latency_ms"] is None
    status, listed = d.get("/evals")
    assert [e["eval_id"] for e in listed["evals"]] == [report["eval_id"]] and listed["evals"][0]["status"] == "completed"
    status, compared = d.get(f"/compare?agents={AGENT}&benchmarks=001-sol-transfer")
    assert [(c["agent"], c["finished"], c["total_tokens"]) for c in compared["cells"]] == [(AGENT, 2, cells[AGENT]["total_tokens"])]
    status, _b, _h = http("GET", f"{d.api}/evals/no-such-eval")
    assert status == 404


def test_llm_runs_have_their_own_pool_and_a_per_provider_limit(tmp_path: Path, daemon_factory: Any) -> None:
    """With one LLM slot per provider, LLM runs call the provider one at a time while a deterministic run goes ahead."""
    slow = [Turn(calls=SOLUTIONS["001-sol-transfer"][0].calls, delay_s=0.7), SOLUTIONS["001-sol-transfer"][1]]
    with FakeOpenAI(by_turn(slow), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env(),
                                   extra_args=["--llm-concurrency", "4", "--llm-per-provider", "1", "--max-concurrency", "1"]).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        llm_ids = [d.post("/benchmarks/001-sol-transfer/run", {"agent": AGENT})[1]["execution_id"] for _ in range(3)]
        _s, det = d.post("/benchmarks/002-spl-transfer/run", {"agent": "deterministic"})
        done = d.wait_status(det["execution_id"], {"Completed"}, timeout=30)
        # The CPU pool is not held up by queued LLM runs: the deterministic run ends before the last LLM run.
        assert d.execution(llm_ids[-1])["status"] in ("Queued", "Running"), done
        finals = [d.wait_status(i, {"Completed", "Failed"}, timeout=60) for i in llm_ids]
    assert [f["status"] for f in finals] == ["Completed"] * 3
    assert fake.max_in_flight == 1 and len(fake.requests) == 6 and fake.violations == []
