"""Fork-mode faults: each is a clear one-line error, never a hang or a silent empty account."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from runner.agents import get_agent
from runner.benchmark import load_benchmark_text
from runner.fork.accounts import MAX_ACCOUNT_BYTES
from runner.fork.http import JsonHttp
from runner.fork.rpc import RpcClient, RpcError
from runner.fork.sources import LiveSource
from runner.run import run_benchmark
from tests.fakes import mainnet as m
from tests.fakes.rpc_server import FakeRpc
from tests.fakes.world import FORK_BENCHMARK
from tests.helpers import free_port


@pytest.fixture
def rpc() -> Any:
    with FakeRpc() as server:
        m.populate(server)
        yield server


def _client(url: str, **http: Any) -> RpcClient:
    return RpcClient(url, JsonHttp(**{"backoff_s": 0.01, **http}))


def test_rpc_down_fails_after_retries(tmp_path: Path) -> None:
    """Nothing listening: the client retries, then names the host (never the path or query: keys live there) and the cause."""
    url = f"http://127.0.0.1:{free_port()}/PATHTOKEN/?api-key=SECRET"
    with pytest.raises(RpcError) as err:
        _client(url).get_multiple_accounts([m.USDC])
    text = str(err.value)
    assert "cannot connect" in text and "after 4 attempts" in text and "SECRET" not in text and "PATHTOKEN" not in text


def test_rpc_down_mid_run_ends_the_run_with_a_session(tmp_path: Path) -> None:
    """A run whose RPC node is down still ends with a Failed session naming the RPC error."""
    source = LiveSource(_client(f"http://127.0.0.1:{free_port()}"))
    bench = load_benchmark_text(FORK_BENCHMARK, "fork.yml")
    result = run_benchmark(bench, get_agent("deterministic"), "down", tmp_path, source)
    assert result.error is not None and "getMultipleAccounts" in result.error and "cannot connect" in result.error
    assert json.loads(result.session_path.read_text())["final_result"]["status"] == "Failed"


def test_429_is_retried_after_retry_after(rpc: FakeRpc) -> None:
    """Two 429 answers with Retry-After: 0.2 are waited out, then the accounts arrive."""
    rpc.fault, rpc.fault_count, rpc.retry_after = "429", 2, "0.2"
    got, slot = _client(rpc.url).get_multiple_accounts([m.USDC])
    assert got[m.USDC] is not None and slot == m.SLOT
    assert len(rpc.calls) == 3
    gaps = [b - a for a, b in zip(rpc.call_times, rpc.call_times[1:], strict=False)]
    assert all(g >= 0.19 for g in gaps), gaps  # the server's Retry-After, not our 10 ms backoff


def test_429_forever_gives_up(rpc: FakeRpc) -> None:
    """A node that keeps answering 429 ends in an error saying so."""
    rpc.fault, rpc.fault_count, rpc.retry_after = "429", 99, "0"
    with pytest.raises(RpcError, match="HTTP 429"):
        _client(rpc.url).get_multiple_accounts([m.USDC])


def test_truncated_answer(rpc: FakeRpc) -> None:
    """Half a JSON body is an error that says the answer is not valid JSON (truncated)."""
    rpc.fault = "truncated"
    with pytest.raises(RpcError, match="not valid JSON .*truncated"):
        _client(rpc.url).get_multiple_accounts([m.USDC])


def test_wrong_encoding_names_the_account(rpc: FakeRpc) -> None:
    """Data labelled with another encoding than base64 is refused, naming the account."""
    rpc.fault = "wrong_encoding"
    with pytest.raises(RpcError, match=f"account {m.USDC}: data encoding is 'base58'"):
        _client(rpc.url).get_multiple_accounts([m.USDC])


def test_account_too_big(rpc: FakeRpc) -> None:
    """An account larger than Solana's 10 MiB maximum is refused, naming it."""
    big = "BigAccount111111111111111111111111111111111"
    rpc.add(big, m.SYSTEM, 1, b"\0" * (MAX_ACCOUNT_BYTES + 1))
    with pytest.raises(RpcError, match=f"account {big}: data is larger than the limit"):
        _client(rpc.url).get_multiple_accounts([big])


def test_hanging_node_times_out(rpc: FakeRpc) -> None:
    """A node that never answers hits the timeout on every attempt, then fails."""
    rpc.fault = "hang"
    t0 = time.monotonic()
    with pytest.raises(RpcError, match="timed out after 0.3 s"):
        _client(rpc.url, timeout_s=0.3, attempts=2).get_multiple_accounts([m.USDC])
    assert time.monotonic() - t0 < 5


def test_keys_are_batched_by_100(rpc: FakeRpc) -> None:
    """250 keys take three calls of at most 100; missing accounts come back as None."""
    keys = [str(m.Keypair().pubkey()) for _ in range(249)] + [m.USDC]
    got, _ = _client(rpc.url).get_multiple_accounts(keys)
    assert [len(c) for c in rpc.calls] == [100, 100, 50]
    assert got[m.USDC] is not None and sum(v is None for v in got.values()) == 249


def test_rpc_error_object_is_reported(rpc: FakeRpc) -> None:
    """A JSON-RPC error object (here: too many keys sent by hand) becomes an RpcError with its message."""
    client = _client(rpc.url)
    with pytest.raises(RpcError, match="Too many inputs"):
        client._batch([m.USDC] * 101)
