"""The reev-compatible routes end to end: a real `reevd serve`, the real runner, only HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import REPO, eventually


def test_dropped_yaml_is_listed_and_removed(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    """A benchmark file copied into benchmarks/ is listed without a sync request, and unlisted when deleted."""
    d = daemon_factory().start()
    folder = d.root / "benchmarks"
    src = REPO / "benchmarks" / "002-spl-transfer.yml"
    shutil.copy(src, folder / ".partial")
    (folder / ".partial").rename(folder / src.name)

    def ids() -> list[str]:
        status, body = d.get("/benchmarks")
        assert status == 200
        return [b["id"] for b in body]

    eventually(lambda: "002-spl-transfer" in ids(), timeout=10, message="benchmark listed")
    (folder / src.name).unlink()
    eventually(lambda: "002-spl-transfer" not in ids(), timeout=10, message="benchmark removed")


def test_upserted_benchmark_runs_and_every_view_reflects_it(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    """/upsert-yml then /run with the real runner; trace, logs, flow and performance all show the real result."""
    d = daemon_factory().start()
    text = (REPO / "benchmarks" / "001-sol-transfer.yml").read_text().replace("id: 001-sol-transfer", "id: e2e-upserted")
    status, body = d.post("/upsert-yml", {"yml_content": text})
    assert status == 200 and body["runnable"] is True, body
    assert (d.root / "benchmarks" / "e2e-upserted.yml").read_text() == text
    status, run = d.post("/benchmarks/e2e-upserted/run", {"agent": "deterministic"})
    assert status == 200, run
    final = d.wait_status(run["execution_id"], {"Completed", "Failed", "Timeout", "Stopped"}, timeout=60)
    assert final["status"] == "Completed", final
    status, trace = d.get("/execution-logs/e2e-upserted")
    assert status == 200 and trace["execution_id"] == run["execution_id"] and trace["is_running"] is False
    assert trace["trace"].rstrip().splitlines()[-1].startswith("✅")
    status, logs = d.get("/transaction-logs/e2e-upserted?show_cu=false")
    assert status == 200 and "System Program" in logs["transaction_logs"] and "compute units" not in logs["transaction_logs"]
    status, flow = d.get(f"/flows/{run['execution_id']}")
    assert status == 200 and flow["diagram"].startswith("stateDiagram-v2") and "Result --> [*]" in flow["diagram"]
    status, perf = d.get("/agent-performance")
    assert status == 200
    result = next(r for a in perf for r in a["results"] if r["id"] == run["execution_id"])
    assert result["final_status"] == "Succeeded" and result["score"] == final["score"]


def test_bad_upsert_leaves_daemon_serving(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    """Invalid YAML gets a 400 naming the field and the daemon keeps answering."""
    d = daemon_factory().start()
    status, body = d.post("/upsert-yml", {"yml_content": "id: ok-id\ntags: {}\n"})
    assert status == 400 and body["error"] == "invalid_benchmark" and "tags" in body["message"]
    status, health = d.get("/health")
    assert status == 200 and health["status"] == "healthy"
    assert not list(Path(d.root / "benchmarks").iterdir())
