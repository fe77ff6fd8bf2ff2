"""LLM runs against hostile or careless surroundings: servers that echo the key, planted links, absurd amounts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from runner.agents import get_agent
from runner.benchmark import load_benchmark_file
from runner.llm.backend import request_key
from runner.run import run_benchmark
from runner.safe_files import UnsafeFile
from tests.fakes.openai_server import Call, FakeOpenAI, calls, text
from tests.fakes.server import serving
from tests.runner.conftest import BENCHMARKS
from tests.runner.llm_scripts import SOLUTIONS

KEY = "sk-test-ECHOED-SECRET-0123456789"
URL_TOKEN = "QUERYTOKEN-0123456789"


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REEV_LLM_CACHE_DIR", "REEV_LLM_PRICES", "REEV_LLM_MAX_TURNS"):
        monkeypatch.delenv(name, raising=False)


def _raw_json(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json")


async def _refuse_quoting_the_key(request: web.Request) -> web.Response:
    """Refuses every key the way some OpenAI-compatible proxies do: by quoting it back."""
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return _raw_json(401, json.dumps({"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}}).encode())


@pytest.fixture
def echoing_url() -> Iterator[str]:
    with serving(_refuse_quoting_the_key) as url:
        yield f"{url}/v1?api-key={URL_TOKEN}"


def test_a_key_echoed_by_the_server_reaches_no_file_and_no_message(tmp_path: Path, echoing_url: str) -> None:
    """A 401 that quotes the key (and a URL carrying a token) ends Failed with neither in the session, OTEL, llm log or error."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": echoing_url, "REEV_LLM_MAX_RETRIES": "0", "REEV_LLM_TIMEOUT_S": "5"}
    result = run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("openai:m", env), "s1", tmp_path)
    assert result.error is not None and "HTTP 401" in result.error and "Incorrect API key provided: ***" in result.error
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())  # temp files under .partial/ too
    assert {p.name for p in files} == {"session_s1.json", "enhanced_otel_s1.jsonl", "llm_s1.jsonl"}
    for path in files:
        body = path.read_text()
        assert KEY not in body and URL_TOKEN not in body, path.name
    session = json.loads(result.session_path.read_text())
    assert session["final_result"]["status"] == "Failed" and session["provider_url"].endswith("/v1")


def test_llm_log_is_never_opened_through_a_planted_symlink(tmp_path: Path) -> None:
    """A link planted at llm_<id>.jsonl is refused; the file it points to is untouched."""
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    os.symlink(outside, sessions / "llm_s1.jsonl")
    with FakeOpenAI(list(SOLUTIONS["001-sol-transfer"]), key=KEY) as fake:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url, "REEV_LLM_MAX_RETRIES": "0"}
        with pytest.raises(UnsafeFile, match="symbolic link"):
            run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("openai:fake-model", env), "s1", sessions)
    assert outside.read_text() == "precious\n"


def test_response_cache_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    """A link planted at the cache's old temp name (<hash>.<pid>.tmp) is not written through; the answer is cached."""
    from runner.llm.backend import CachingBackend, Exchange

    class Inner:
        base_url = "inner:"

        def complete(self, request: dict) -> Exchange:
            return Exchange(request, {"choices": []}, 1.0)

        def close(self) -> None:
            pass

    cache = tmp_path / "cache"
    cache.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    request = {"model": "m", "messages": []}
    digest = request_key(request)
    os.symlink(outside, cache / f"{digest}.{os.getpid()}.tmp")
    CachingBackend(Inner(), cache).complete(request)
    assert outside.read_text() == "precious\n"
    assert json.loads((cache / f"{digest}.json").read_bytes()) == {"choices": []}


def _tool_result_after_one_bad_call(tmp_path: Path, bad: Call) -> dict[str, Any]:
    """Run 001 with the fake model making `bad` first, then the solution: the run must go on and
    score with one tool error. -> the tool result the model was shown for `bad`."""
    script = [calls(bad), *SOLUTIONS["001-sol-transfer"]]
    with FakeOpenAI(script, key=KEY) as fake:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url, "REEV_LLM_MAX_RETRIES": "0", "REEV_LLM_TIMEOUT_S": "10"}
        result = run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("openai:fake-model", env), "s1", tmp_path)
    assert result.error is None and result.score == 1.0 and result.steps[0]["info"]["tool_errors"] == 1
    first: dict[str, Any] = json.loads([m for m in fake.requests[1]["messages"] if m["role"] == "tool"][0]["content"])
    return first


@pytest.mark.parametrize("amount", ["Infinity", "sNaN", "1e999999999", "18446744073709551616", -1])
def test_absurd_amounts_are_tool_errors_the_model_can_correct(tmp_path: Path, amount: object) -> None:
    """Amounts that cannot be a u64 (infinite, signalling NaN, huge, negative) get an error result; the run goes on and scores."""
    bad = Call("sol_transfer", {"user_pubkey": "USER_WALLET_PUBKEY", "recipient_pubkey": "RECIPIENT_WALLET_PUBKEY",
                                "amount": amount, "operation": "sol"})
    first = _tool_result_after_one_bad_call(tmp_path, bad)
    assert first["status"] == "error" and "amount" in first["error"]


def test_text_reply_helper_is_used() -> None:
    """The scripted text turn carries its content (guards this module's imports)."""
    assert text("x").content == "x"


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_tool_arguments_are_an_error_result_not_a_failed_run(tmp_path: Path) -> None:
    """Arguments nested 300 deep (orjson reads them, cannot write them back) get an error result; the model corrects itself."""
    deep = Call("sol_transfer", json.dumps({"user_pubkey": _nested(300)}))
    first = _tool_result_after_one_bad_call(tmp_path, deep)
    assert "nested deeper" in first["error"]


async def _deep_object_arguments(request: web.Request) -> web.Response:
    """A completion whose tool call carries its arguments as an object nested 300 deep (written by hand:
    orjson, which the fake server uses, cannot write it)."""
    args = '{"user_pubkey":' + "[" * 300 + "1" + "]" * 300 + "}"
    call = '{"id":"c1","type":"function","function":{"name":"sol_transfer","arguments":' + args + "}}"
    return _raw_json(200, ('{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,'
                           '"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":['
                           + call + "]}}]}").encode())


def test_deeply_nested_object_arguments_end_the_run_with_a_session(tmp_path: Path) -> None:
    """A reply whose object-valued arguments nest 300 deep ends Failed with a clear error, the session and llm log written."""
    with serving(_deep_object_arguments) as url:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{url}/v1", "REEV_LLM_MAX_RETRIES": "0", "REEV_LLM_TIMEOUT_S": "10"}
        result = run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("openai:m", env), "s1", tmp_path)
    assert result.error is not None and "nested deeper than" in result.error
    assert json.loads(result.session_path.read_text())["final_result"]["status"] == "Failed"
    line = json.loads((tmp_path / "llm_s1.jsonl").read_text().splitlines()[0])
    assert "nested deeper than" in line["error"] and line["response"] is None
