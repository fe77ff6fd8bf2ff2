"""Through the daemon: REEV_RPC_URL in its environment reaches the runs it launches (no daemon code for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.world import FORK_BENCHMARK, fake_mainnet

pytestmark = pytest.mark.e2e


def test_daemon_runs_a_mainnet_benchmark_over_its_rpc_url(daemon_factory: Any, tmp_path: Path) -> None:
    """The catalog lists the fork benchmark as runnable and a launched run forks over the daemon's RPC URL."""
    root = tmp_path / "root"
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "fork-swap-then-pay.yml").write_text(FORK_BENCHMARK)
    with fake_mainnet() as world:
        d = daemon_factory(root, env={"REEV_RPC_URL": world.rpc.url, "JUPITER_API_URL": world.jupiter.url}).start()
        status, catalog = d.get("/benchmarks")
        assert status == 200
        entries = catalog.values() if isinstance(catalog, dict) else catalog
        entry = next(e for e in entries if e["id"] == "fork-swap-then-pay")
        assert entry["runnable"] is True and entry["reason"] is None
        status, payload = d.post("/benchmarks/fork-swap-then-pay/run", {"agent": "deterministic"})
        assert status == 200, payload
        row = d.wait_status(payload["execution_id"], {"Completed", "Failed"}, timeout=30)
        assert row["status"] == "Completed" and row["score"] == pytest.approx(1.0), row
        assert row["result_data"]["final_result"]["state_source"]["mode"] == "rpc"
        assert world.rpc.calls and world.jupiter.requests  # the run really went to both
