"""Fork mode end to end: mainnet accounts over JSON-RPC (a local fake node), snapshots, replay offline."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.agents import get_agent
from runner.benchmark import load_benchmark_file, load_benchmark_text
from runner.fork.availability import availability
from runner.fork.rpc import RpcClient
from runner.fork.snapshot import Snapshot, SnapshotError, load_snapshot, save_snapshot
from runner.fork.sources import LiveSource, SnapshotSource
from runner.run import run_benchmark
from tests.fakes import mainnet as m
from tests.fakes.world import FORK_BENCHMARK, World, fake_mainnet
from tests.helpers import REPO

BENCH_ID = "fork-swap-then-pay"


@pytest.fixture
def world() -> Any:
    with fake_mainnet() as w:
        yield w


@pytest.fixture
def bench_file(tmp_path: Path) -> Path:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    path = folder / f"{BENCH_ID}.yml"
    path.write_text(FORK_BENCHMARK)
    return path


def _live(world: World, record: bool = False) -> LiveSource:
    snap = Snapshot(benchmark_id=BENCH_ID, key_seed=os.urandom(32)) if record else None
    return LiveSource(RpcClient(world.rpc.url), api_base_url=world.jupiter.url, record_to=snap)


def _runner(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("REEV_RPC_URL", "JUPITER_API_URL")}
    return subprocess.run(
        [sys.executable, "-m", "runner", *args], cwd=REPO, env={**clean, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )


def test_fork_run_fetches_named_accounts_in_batches(world: World, tmp_path: Path, bench_file: Path) -> None:
    """A flow over real addresses runs on fetched state: one batched fetch up front and one per transaction."""
    source = _live(world)
    result = run_benchmark(load_benchmark_file(bench_file), get_agent("deterministic"), "fork-1", tmp_path, source)
    assert result.error is None and result.success and result.score == 1.0
    # The treasury's balance is the fake chain's plus the payment: its state came over RPC.
    assert all(a["passed"] for a in result.assertions), result.assertions
    # Set-up: what the benchmark names (the treasury is named by an assertion); step 1: what
    # the swap transaction names (program, its program data and the lookup table in one
    # round trip); step 2 names nothing new.
    assert len(world.rpc.calls) == 2, world.rpc.calls
    assert all(len(c) <= 100 for c in world.rpc.calls)
    assert {m.USDC, m.CLOCK, m.TREASURY_USDC} == set(world.rpc.calls[0])
    program_data, _, _ = m.program_accounts(m.JUPITER_SWAP, b"")
    assert {m.JUPITER_SWAP, program_data, m.LOOKUP_TABLE} <= set(world.rpc.calls[1])
    user = result.key_map["USER_WALLET_PUBKEY"]
    assert user not in world.rpc.keys_asked  # a placeholder's fresh key is never looked up
    step1 = result.steps[0]
    assert step1["info"] == {"lookup_tables": [m.LOOKUP_TABLE], "message_version": "v0"}
    logs = step1["observation"]["last_transaction_logs"]
    assert f"Program {m.JUPITER_SWAP} invoke [1]" in logs and "Program log: fake route: FakeAMM" in logs
    final_states = result.steps[-1]["observation"]["account_states"]
    assert final_states[m.USDC]["lamports"] == m.USDC_MINT_LAMPORTS  # the fetched mint, not a synthesized one
    session = json.loads(result.session_path.read_text())
    assert session["final_result"]["state_source"]["mode"] == "rpc"
    assert session["final_result"]["state_source"]["rpc_calls"] == 2


def test_yaml_accounts_override_what_the_chain_has(world: World, tmp_path: Path) -> None:
    """An account the YAML defines at a real address is not fetched; the YAML's balance is used."""
    text = FORK_BENCHMARK.replace(
        "prompt: Swap, then pay the treasury.",
        f"""  - pubkey: "{m.TREASURY_USDC}"
    owner: "{m.TOKEN}"
    lamports: 2039280
    data:
      mint: "{m.USDC}"
      owner: "{m.TREASURY}"
      amount: "7000000"
prompt: Swap, then pay the treasury.""",
    ).replace(f"expected: {m.TREASURY_USDC_AMOUNT + 5_000_000}", "expected: 12000000")
    bench = load_benchmark_text(text, "override.yml")
    result = run_benchmark(bench, get_agent("deterministic"), "fork-2", tmp_path, _live(world))
    assert result.error is None and all(a["passed"] for a in result.assertions), result.assertions
    assert m.TREASURY_USDC not in world.rpc.keys_asked


def test_snapshot_records_then_replays_offline_with_identical_results(world: World, tmp_path: Path, bench_file: Path) -> None:
    """`reev-runner snapshot` records; with the servers stopped two replays match the recording but for times and ids."""
    sessions = tmp_path / "sessions"
    rec = _runner("snapshot", str(bench_file), "--rpc-url", world.rpc.url, "--sessions-dir", str(sessions),
                  "--execution-id", "rec", env={"JUPITER_API_URL": world.jupiter.url})
    assert rec.returncode == 0, rec.stderr
    snap_path = bench_file.parent / "snapshots" / f"{BENCH_ID}.json.gz"
    assert snap_path.is_file() and "-- snapshot" in rec.stdout
    world.stop()  # from here on there is no RPC node and no Jupiter API
    for rid in ("rep1", "rep2"):
        rep = _runner(str(bench_file), "--sessions-dir", str(sessions), "--execution-id", rid)
        assert rep.returncode == 0, rep.stderr
    recorded = json.loads((sessions / "session_rec.json").read_text())
    replays = [json.loads((sessions / f"session_{r}.json").read_text()) for r in ("rep1", "rep2")]
    raw = gzip.decompress(snap_path.read_bytes())
    for replay in replays:
        source = replay["final_result"].pop("state_source")
        assert source["mode"] == "snapshot" and source["slot"] == m.SLOT
        assert source["hash"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert recorded["final_result"].pop("state_source")["mode"] == "rpc"
    for s in (recorded, *replays):
        for key in ("session_id", "start_time", "end_time"):
            s.pop(key)
        s["final_result"].pop("execution_time_ms")
    assert recorded["final_result"]["score"] == 1.0
    assert replays[0] == recorded and replays[1] == recorded


def test_snapshot_lacking_an_account_names_it(world: World, tmp_path: Path, bench_file: Path) -> None:
    """Replaying a snapshot without an account the transaction needs fails the run with that account's address."""
    source = _live(world, record=True)
    bench = load_benchmark_file(bench_file)
    assert run_benchmark(bench, get_agent("deterministic"), "rec", tmp_path, source).error is None
    assert source.record_to is not None
    del source.record_to.accounts[m.TREASURY_USDC]
    path = tmp_path / "cut.json.gz"
    save_snapshot(path, source.record_to)
    result = run_benchmark(bench, get_agent("deterministic"), "rep", tmp_path, SnapshotSource(load_snapshot(path)))
    assert result.error is not None and m.TREASURY_USDC in result.error and "has no account" in result.error
    assert json.loads(result.session_path.read_text())["final_result"]["status"] == "Failed"


def test_snapshot_file_is_deterministic_gzip_json(world: World, tmp_path: Path, bench_file: Path) -> None:
    """The documented format: gzip'd JSON with accounts and API answers; equal content gives equal bytes."""
    source = _live(world, record=True)
    run_benchmark(load_benchmark_file(bench_file), get_agent("deterministic"), "rec", tmp_path, source)
    assert source.record_to is not None
    source.record_to.recorded_at = "2026-11-21T00:00:00Z"
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    save_snapshot(a, source.record_to)
    save_snapshot(b, source.record_to)
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(gzip.decompress(a.read_bytes()))
    assert doc["format"] == "reev-snapshot" and doc["version"] == 1 and doc["slot"] == m.SLOT
    assert doc["accounts"][m.USDC]["owner"] == m.TOKEN and doc["accounts"][m.USDC]["lamports"] == m.USDC_MINT_LAMPORTS
    assert any(k.startswith("GET /swap/v1/quote?") for k in doc["http"])
    assert any(v.get("absent") for v in doc["accounts"].values())  # e.g. the user's not-yet-created accounts
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(SnapshotError, match="bad.json.gz"):
        load_snapshot(bad)


def test_mainnet_benchmark_without_rpc_or_snapshot_is_refused(tmp_path: Path, bench_file: Path) -> None:
    """No --rpc-url, no REEV_RPC_URL, no snapshot: one line on stderr saying what would make it run."""
    proc = _runner(str(bench_file), "--sessions-dir", str(tmp_path / "s"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs mainnet state" in lines[0] and "--rpc-url" in lines[0], proc.stderr
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def test_availability_for_the_catalog(tmp_path: Path, bench_file: Path) -> None:
    """availability(): embedded for VM-only benchmarks; snapshot before RPC; refused with a reason otherwise."""
    bench = load_benchmark_file(bench_file)
    assert availability(load_benchmark_file(REPO / "benchmarks" / "001-sol-transfer.yml"), rpc_url="").mode == "embedded"
    refused = availability(bench, rpc_url="")
    assert not refused.runnable and refused.reason and "needs mainnet state" in refused.reason
    assert availability(bench, rpc_url="http://127.0.0.1:1").mode == "rpc"
    (bench_file.parent / "snapshots").mkdir()
    (bench_file.parent / "snapshots" / f"{BENCH_ID}.json.gz").write_bytes(b"")
    assert availability(bench, rpc_url="http://127.0.0.1:1").mode == "snapshot"
    assert availability(bench, rpc_url="http://127.0.0.1:1", prefer_rpc=True).mode == "rpc"


def test_catalog_row_is_runnable_once_a_snapshot_exists(tmp_path: Path, bench_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's catalog row: refused with the reason, runnable once benchmarks/snapshots/<id>.json.gz exists."""
    from reevd.catalog import load_row

    monkeypatch.delenv("REEV_RPC_URL", raising=False)
    row = load_row(bench_file)
    assert not row.runnable and row.reason is not None and "needs mainnet state" in row.reason
    (bench_file.parent / "snapshots").mkdir()
    (bench_file.parent / "snapshots" / f"{BENCH_ID}.json.gz").write_bytes(b"")
    row = load_row(bench_file)
    assert row.runnable and row.reason is None
    monkeypatch.setenv("REEV_RPC_URL", "http://127.0.0.1:1")
    (bench_file.parent / "snapshots" / f"{BENCH_ID}.json.gz").unlink()
    assert load_row(bench_file).runnable


def test_cli_usage_errors_for_fork_mode(tmp_path: Path, bench_file: Path) -> None:
    """`snapshot` without an RPC URL, or a non-http URL, is one line on stderr and exit 1."""
    proc = _runner("snapshot", str(bench_file), "--sessions-dir", str(tmp_path / "s"))
    assert proc.returncode == 1 and "recording a snapshot needs --rpc-url" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = _runner(str(bench_file), "--rpc-url", "ftp://example.org/x", "--sessions-dir", str(tmp_path / "s"))
    assert proc.returncode == 1 and "is not an http(s) URL" in proc.stderr and "/x" not in proc.stderr


def test_jupiter_url_must_be_http(tmp_path: Path, bench_file: Path) -> None:
    """JUPITER_API_URL with another scheme (urllib would read file:// URLs) is refused in one line."""
    proc = _runner(str(bench_file), "--rpc-url", "http://127.0.0.1:1", "--sessions-dir", str(tmp_path / "s"),
                   env={"JUPITER_API_URL": "file:///etc/passwd"})
    assert proc.returncode == 1 and "JUPITER_API_URL" in proc.stderr and "not an http(s) URL" in proc.stderr
