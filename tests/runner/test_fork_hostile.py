"""Fork-mode inputs built to break the loader: nested JSON in snapshots and RPC answers, mistyped records."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from runner.fork.http import HttpError, JsonHttp
from runner.fork.rpc import RpcClient, RpcError
from runner.fork.snapshot import SnapshotError, load_snapshot
from tests.fakes.server import serving

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def _snapshot(tmp_path: Path, doc: Any = None, raw: bytes | None = None) -> Path:
    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(raw if raw is not None else json.dumps(doc).encode()))
    return path


def _doc(**over: Any) -> dict[str, Any]:
    return {"format": "reev-snapshot", "version": 1, "benchmark_id": "x", "key_seed": "00" * 32,
            "accounts": {}, "http": {}, **over}


def test_deeply_nested_snapshot_is_a_snapshot_error(tmp_path: Path) -> None:
    """A small gzip holding 100,000 nested brackets is refused with a SnapshotError, not a RecursionError."""
    path = _snapshot(tmp_path, raw=b"[" * 100_000)
    assert path.stat().st_size < 2_000
    with pytest.raises(SnapshotError, match="nested too deeply"):
        load_snapshot(path)


@pytest.mark.parametrize("slot", ["x", [1], -1, 1.5])
def test_mistyped_absent_slot_is_a_snapshot_error(tmp_path: Path, slot: Any) -> None:
    """An absent account whose slot is not a whole number is refused, naming the account."""
    path = _snapshot(tmp_path, _doc(accounts={USDC: {"absent": True, "slot": slot}}))
    with pytest.raises(SnapshotError, match=f"account {USDC}: slot"):
        load_snapshot(path)


@pytest.mark.parametrize("record", [{"status": "two hundred"}, {"status": None}, "not an object", {"status": 99999}])
def test_mistyped_http_record_is_refused_at_load(tmp_path: Path, record: Any) -> None:
    """A recorded API answer without a valid HTTP status is refused when the snapshot loads, not mid-run."""
    path = _snapshot(tmp_path, _doc(http={"GET /swap/v1/quote?a=1": record}))
    with pytest.raises(SnapshotError, match="http: 'GET /swap/v1/quote"):
        load_snapshot(path)


def _raw_json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


async def _nested_whole(request: web.Request) -> web.Response:
    """A whole answer nested 300 deep."""
    return _raw_json(b'{"outAmount":' + b"[" * 300 + b"1" + b"]" * 300 + b"}")


async def _nested_cut_short(request: web.Request) -> web.Response:
    """JSON nested 100,000 deep (cut short)."""
    return _raw_json(b'{"jsonrpc":"2.0","result":' + b"[" * 100_000)


@pytest.fixture
def nested_rpc() -> Iterator[str]:
    with serving(post=_nested_cut_short, get=_nested_whole) as url:
        yield url


def test_deeply_nested_rpc_answer_is_an_rpc_error(nested_rpc: str) -> None:
    """An RPC answer nested 100,000 deep is an RpcError saying so, not a RecursionError."""
    with pytest.raises(RpcError, match="nested too deeply"):
        RpcClient(nested_rpc, JsonHttp(attempts=1)).get_multiple_accounts([USDC])


def test_api_answer_nested_300_deep_is_an_http_error(nested_rpc: str) -> None:
    """A whole answer nested 300 deep (json reads it; orjson could not write it to OTEL or the session) is refused."""
    with pytest.raises(HttpError, match="nested deeper than 64 levels"):
        JsonHttp(attempts=1).request("GET", nested_rpc + "/swap/v1/quote")


def test_snapshot_nested_300_deep_is_a_snapshot_error(tmp_path: Path) -> None:
    """A recorded API answer nested 300 deep is refused when the snapshot loads."""
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    path = _snapshot(tmp_path, _doc(http={"GET /swap/v1/quote": {"status": 200, "body": deep}}))
    with pytest.raises(SnapshotError, match="nested too deeply"):
        load_snapshot(path)


def test_jupiter_instruction_data_longer_than_a_transaction_is_refused_before_encoding() -> None:
    """Instruction data over 1232 bytes is refused by name (base58-encoding 10 MB of it would take days)."""
    import base64

    from runner.jupiter.instructions import InstructionFormatError, lend_instructions

    answer = {"instructions": [{"programId": USDC, "accounts": [], "data": base64.b64encode(b"\1" * 10_000_000).decode()}]}
    with pytest.raises(InstructionFormatError, match=r"instructions\[0\]\.data: longer than a transaction"):
        lend_instructions(answer)
    fits = {"programId": USDC, "accounts": [], "data": base64.b64encode(b"\1" * 1232).decode()}
    assert len(lend_instructions(fits)) == 1


async def _refuse_quoting_the_url(request: web.Request) -> web.Response:
    """An RPC node that refuses the request by quoting back the URL it was called with (token included)."""
    error = {"code": -32401, "message": f"invalid api key in {request.path_qs}"}
    return _raw_json(json.dumps({"jsonrpc": "2.0", "id": 1, "error": error}).encode())


def test_rpc_token_quoted_back_by_the_node_reaches_no_file_and_no_error(tmp_path: Path) -> None:
    """A node that quotes the URL's path and query tokens in its error: the run fails, and neither token is written or reported."""
    from runner.agents import get_agent
    from runner.benchmark import load_benchmark_text
    from runner.fork.sources import LiveSource
    from runner.run import run_benchmark
    from tests.fakes.world import FORK_BENCHMARK

    path_token, query_token = "PathToken0123456789abcdef", "QueryToken0123456789"
    with serving(post=_refuse_quoting_the_url) as base:
        url = f"{base}/{path_token}/?api-key={query_token}"
        source = LiveSource(RpcClient(url, JsonHttp(attempts=1)))
        bench = load_benchmark_text(FORK_BENCHMARK, "fork.yml")
        result = run_benchmark(bench, get_agent("deterministic"), "echo", tmp_path, source)
    assert result.error is not None and "invalid api key in /***/?api-key=***" in result.error
    for path in (result.session_path, result.otel_path):
        body = path.read_text()
        assert path_token not in body and query_token not in body, path.name
        json.loads(body.splitlines()[0] if path == result.otel_path else body)
