"""Behaviour 2: deeply nested YAML or JSON is a 400, a counted catalog error or a cut-off view, never a crash or 500."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reevd import keys
from runner.benchmark import BenchmarkError, load_benchmark_text
from tests.helpers import REPO
from tests.unit.test_api_compat import Make, app_of, make_client, project_benchmarks  # noqa: F401 - fixture

DEEP_YAML = "x: " + "[" * 50_000


def test_runner_loader_refuses_deep_yaml(tmp_path: Path) -> None:
    """`reev-runner` on a 50,000-level YAML exits 1 naming the file (it crashed with SIGSEGV), in a subprocess."""
    path = tmp_path / "deep.yml"
    path.write_text(DEEP_YAML)
    done = subprocess.run([sys.executable, "-m", "runner", str(path), "--sessions-dir", str(tmp_path / "s")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr[-500:])
    assert "deep.yml" in done.stderr and "nested deeper than" in done.stderr
    with pytest.raises(BenchmarkError, match="nested deeper than"):
        load_benchmark_text("x: " + "[" * 100, "shallow-enough-to-compose.yml")


async def test_upsert_of_deep_yaml_is_400(make_client: Make) -> None:
    """POST /upsert-yml with 50,000 nested lists answers 400 and the daemon keeps serving."""
    client = await make_client()
    resp = await client.post("/api/v1/upsert-yml", json={"yml_content": DEEP_YAML})
    body = await resp.json()
    assert resp.status == 400 and "nested deeper" in body["message"]
    assert (await client.get("/api/v1/health")).status == 200


async def test_deep_yaml_in_benchmarks_is_a_counted_error(make_client: Make, tmp_path: Path) -> None:
    """A deep YAML file dropped into benchmarks/ is one catalog error; the other benchmarks load."""
    root = tmp_path / "root"
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "deep.yml").write_text(DEEP_YAML)
    client = await make_client(root=root, benchmarks=project_benchmarks()[:2])
    body = await (await client.post("/api/v1/sync")).json()
    assert body["synced_count"]["error_count"] == 1 and body["errors"][0]["file"] == "deep.yml"
    assert len(await (await client.get("/api/v1/benchmarks")).json()) == 2


async def test_run_with_deep_config_is_400(make_client: Make) -> None:
    """POST /run with `config` nested 300 levels is a 400 naming `config`, not a 500."""
    client = await make_client(benchmarks=project_benchmarks()[:1])
    config: object = 1
    for _ in range(300):
        config = {"a": config}
    bench = project_benchmarks()[0].stem
    resp = await client.post(f"/api/v1/benchmarks/{bench}/run", json={"agent": "deterministic", "config": config})
    body = await resp.json()
    assert resp.status == 400 and body["message"].startswith("config:"), body


async def test_transaction_logs_with_deep_invokes_are_cut(make_client: Make, tmp_path: Path) -> None:
    """Program logs claiming 2,000 nested invokes render as a tree cut at a bound, with a 200."""
    logs = [f"Program P{i} invoke [{i + 1}]" for i in range(2000)]
    session = {"session_id": "deep-logs", "benchmark_id": "001-sol-transfer", "agent_type": "deterministic",
               "final_result": {"success": False, "score": 0.0, "status": "Failed", "data": {"prompt": "p", "steps": [
                   {"action": [], "observation": {"last_transaction_status": "failed", "last_transaction_logs": logs}}]}}}
    root = tmp_path / "root"
    (root / "logs" / "sessions").mkdir(parents=True)
    (root / "logs" / "sessions" / "session_deep-logs.json").write_text(json.dumps(session))
    client = await make_client(root=root)
    assert (await app_of(client)[keys.STORE].reader.execution("deep-logs")) is not None
    resp = await client.get("/api/v1/transaction-logs/001-sol-transfer?execution_id=deep-logs")
    body = await resp.json()
    assert resp.status == 200 and "cut: deeper than" in body["transaction_logs"]
    resp = await client.get("/api/v1/execution-logs/001-sol-transfer?execution_id=deep-logs")
    assert resp.status == 200
