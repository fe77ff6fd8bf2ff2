"""LLM runs end to end: the real openai client against a local fake server, the real VM and scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.agents import get_agent
from runner.agents.base import Agent
from runner.benchmark import load_benchmark_file
from runner.run import RunResult, run_benchmark
from tests.fakes.openai_server import Call, FakeOpenAI, Turn, calls, error, text, tool_call
from tests.runner.conftest import BENCHMARKS, PROJECT_EXPECTED, UPSTREAM
from tests.runner.llm_scripts import SOLUTIONS, sol

KEY = "sk-test-SECRET-0123456789"


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REEV_LLM_CACHE_DIR", "REEV_LLM_PRICES", "REEV_LLM_MAX_TURNS"):
        monkeypatch.delenv(name, raising=False)


def _agent(fake: FakeOpenAI, **settings: str) -> Agent:
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url, "REEV_LLM_MAX_RETRIES": "0", "REEV_LLM_TIMEOUT_S": "10", **settings}
    return get_agent("openai:fake-model", env)


def _run(bench_id: str, script: list[Turn], tmp_path: Path, **settings: str) -> tuple[RunResult, FakeOpenAI]:
    with FakeOpenAI(script, key=KEY) as fake:
        result = run_benchmark(load_benchmark_file(BENCHMARKS / f"{bench_id}.yml"), _agent(fake, **settings), "s1", tmp_path)
    assert fake.violations == []
    return result, fake


def _named(result: RunResult) -> list[Any]:
    names = {address: name for name, address in result.key_map.items()}
    return [
        [{**ix, "accounts": [{**a, "pubkey": names.get(a["pubkey"], a["pubkey"])} for a in ix["accounts"]]} for ix in s["action"]]
        for s in result.steps
    ]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _session(result: RunResult) -> dict[str, Any]:
    return json.loads(result.session_path.read_text())


@pytest.mark.parametrize("bench_id", sorted(PROJECT_EXPECTED))
def test_scripted_tool_calls_score_exactly_as_the_deterministic_agent(tmp_path: Path, bench_id: str) -> None:
    """Each project benchmark solved by scripted tool calls gets the deterministic agent's score and verdict."""
    result, fake = _run(bench_id, list(SOLUTIONS[bench_id]), tmp_path)
    deterministic = run_benchmark(load_benchmark_file(BENCHMARKS / f"{bench_id}.yml"), get_agent("deterministic"), "d", tmp_path)
    assert result.error is None
    assert result.score == pytest.approx(deterministic.score, abs=1e-9)
    assert (result.success, result.score) == (deterministic.success, pytest.approx(PROJECT_EXPECTED[bench_id][0], abs=1e-6))
    # The same instructions, up to the per-run random addresses.
    assert _named(result) == _named(deterministic)
    assert len(fake.requests) == len(SOLUTIONS[bench_id])


def test_session_otel_and_llm_files_record_the_run(tmp_path: Path) -> None:
    """Session gets model/provider/usage/cost; OTEL has the tool lines; llm_<id>.jsonl has every exchange; no key anywhere."""
    result, fake = _run("001-sol-transfer", list(SOLUTIONS["001-sol-transfer"]), tmp_path, REEV_LLM_PRICES="fake-model=1/2")
    session = _session(result)
    assert session["model"] == "fake-model" and session["provider_url"] == fake.base_url
    usage = session["usage"]
    assert usage["requests"] == 2 and usage["retries"] == 0 and usage["total_tokens"] > 0 and usage["latency_ms"] > 0
    assert session["cost_usd"] == pytest.approx((usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6)
    step = session["final_result"]["data"]["steps"][0]
    assert step["thought"] == "Done: the transaction is built."
    assert step["info"] == {"stop_reason": "no_tool_calls", "turns": 2, "tool_calls": 1, "tool_errors": 0}
    events = _lines(result.otel_path)
    assert [e["event_type"] for e in events] == ["Prompt", "ToolInput", "ToolOutput", "StepComplete", "SessionComplete"]
    prompt = events[0]["prompt"]
    assert prompt["tool_name_list"] == [t["function"]["name"] for t in fake.requests[0]["tools"]]
    assert "RECIPIENT_WALLET_PUBKEY" in prompt["final_prompt"] and prompt["user_prompt"].startswith("Transfer 0.1 SOL")
    assert events[1]["tool_input"]["tool_name"] == "sol_transfer" and events[1]["tool_input"]["tool_args"]["amount"] == 100_000_000
    assert events[2]["tool_output"]["success"] is True
    llm = _lines(result.session_path.parent / "llm_s1.jsonl")
    assert [(r["step"], r["turn"]) for r in llm] == [(1, 1), (1, 2)]
    assert llm[0]["request"] == fake.requests[0] and llm[1]["response"]["choices"][0]["finish_reason"] == "stop"
    assert all(r["usage"] and r["error"] is None and r["retries"] == 0 for r in llm)
    for path in tmp_path.rglob("*"):  # temp files under .partial/ too
        assert path.is_dir() or KEY not in path.read_text(), path


def test_request_shape_context_and_tool_pairing(tmp_path: Path) -> None:
    """The model sees a fixed system prompt, the prompt plus a sorted accounts block, and paired tool results."""
    _result, fake = _run("002-spl-transfer", list(SOLUTIONS["002-spl-transfer"]), tmp_path)
    first, second = fake.requests
    assert first["tool_choice"] == "auto" and first["temperature"] == 0 and "stream" not in first
    user = first["messages"][1]["content"]
    block = user.split("Accounts:\n", 1)[1].splitlines()
    assert [line.split(":")[0] for line in block] == sorted(line.split(":")[0] for line in block)
    assert any(line.startswith("- USER_USDC_ATA:") and "amount 40000000 raw units, decimals 6" in line for line in block)
    assert second["messages"][2]["tool_calls"][0]["id"] == second["messages"][3]["tool_call_id"]
    assert json.loads(second["messages"][3]["content"])["status"] == "ok"


def test_upstream_glm_tool_call_for_001_replayed_scores_1(tmp_path: Path) -> None:
    """Upstream's recorded glm-4.6 sol_transfer call (its user as a real address, mint_address null) scores 1.0 on upstream's 001."""
    otel = UPSTREAM / "sessions" / "enhanced_otel_057d2e4a-f687-469f-8885-ad57759817c0.jsonl"
    session = UPSTREAM / "sessions" / "session_057d2e4a-f687-469f-8885-ad57759817c0.json"
    if not otel.is_file() or not session.is_file():
        pytest.skip(f"upstream captures not present at {otel.parent} (only available in the shared workplace)")
    recorded = next(e for e in _lines(otel) if e["event_type"] == "ToolInput")["tool_input"]
    key_map = json.loads(session.read_text())["final_result"]["data"]["steps"][0]["observation"]["key_map"]
    by_address = {address: name for name, address in key_map.items()}
    # Addresses are random per run: map the recorded ones back to their placeholders.
    args = {k: by_address.get(v, v) if isinstance(v, str) else v for k, v in recorded["tool_args"].items()}
    assert args["mint_address"] is None and args["user_pubkey"] == "USER_WALLET_PUBKEY"
    script = [calls(Call(recorded["tool_name"], args)), text("Sent.")]
    with FakeOpenAI(script, key=KEY) as fake:
        bench = load_benchmark_file(UPSTREAM / "benchmarks" / "001-sol-transfer.yml")
        result = run_benchmark(bench, _agent(fake), "glm", tmp_path)
    assert fake.violations == [] and result.error is None
    assert (result.score, result.success) == (1.0, True)


# ------------------------------------------------------------------------------ faults


def test_429_with_retry_after_is_retried_and_counted(tmp_path: Path) -> None:
    """A 429 with retry-after is retried by the client; the retry shows in usage and the llm log."""
    script = [error(429, retry_after=0.05), *SOLUTIONS["001-sol-transfer"]]
    result, fake = _run("001-sol-transfer", script, tmp_path, REEV_LLM_MAX_RETRIES="2")
    assert result.error is None and result.score == 1.0
    assert _session(result)["usage"]["retries"] == 1 and len(fake.requests) == 3
    assert _lines(tmp_path / "llm_s1.jsonl")[0]["retries"] == 1


def test_500_after_retries_ends_failed_with_the_error(tmp_path: Path) -> None:
    """A server that keeps answering 500 ends the run Failed; the session file is still written with the error."""
    result, fake = _run("001-sol-transfer", [error(500), error(500)], tmp_path, REEV_LLM_MAX_RETRIES="1")
    final = _session(result)["final_result"]
    assert final["status"] == "Failed" and "HTTP 500" in final["error"] and "after 1 retries" in final["error"]
    assert len(fake.requests) == 2
    assert _lines(tmp_path / "llm_s1.jsonl")[0]["error"].startswith("HTTP 500")


def test_unreachable_api_ends_failed(tmp_path: Path) -> None:
    """No server at the URL: Failed with a connection error, session written."""
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "REEV_LLM_MAX_RETRIES": "0", "REEV_LLM_TIMEOUT_S": "5"}
    result = run_benchmark(load_benchmark_file(BENCHMARKS / "001-sol-transfer.yml"), get_agent("gpt-4o-mini", env), "s1", tmp_path)
    final = _session(result)["final_result"]
    assert final["status"] == "Failed" and "APIConnectionError" in final["error"]


def test_delay_past_the_timeout_ends_failed(tmp_path: Path) -> None:
    """A reply slower than REEV_LLM_TIMEOUT_S is a timeout: Failed, with the timeout named."""
    result, _fake = _run("001-sol-transfer", [Turn(delay_s=3.0)], tmp_path, REEV_LLM_TIMEOUT_S="0.3")
    final = _session(result)["final_result"]
    assert final["status"] == "Failed" and "Timeout" in final["error"]


@pytest.mark.parametrize("turn, named", [
    (text("x" * (17 << 20)), "body of"),  # Content-Length over the limit: refused before reading
    (Turn(content="x" * (17 << 20), chunked=True), "body over"),  # no length: cut while reading
    (Turn(content=" " * (1 << 20), gzip=True), "Content-Encoding 'gzip'"),  # could inflate past any raw cap
])
def test_oversized_or_compressed_reply_ends_failed_without_reading_it_whole(tmp_path: Path, turn: Turn, named: str) -> None:
    """A reply over 16 MiB, or encoded though identity was asked for, ends the run Failed with the reason named."""
    result, fake = _run("001-sol-transfer", [turn], tmp_path)
    final = _session(result)["final_result"]
    assert final["status"] == "Failed" and named in final["error"], final["error"]
    assert fake.headers[0].get("Accept-Encoding") == "identity"


def test_text_only_reply_is_scored_without_instructions(tmp_path: Path) -> None:
    """A model that calls no tool builds nothing: the run is scored (not a crash) and its text is the thought."""
    result, _fake = _run("001-sol-transfer", [text("I cannot do that.")], tmp_path)
    assert result.error is None and result.success is False and result.score < 1.0
    step = result.steps[0]
    assert step["action"] == [] and step["thought"] == "I cannot do that." and step["info"]["stop_reason"] == "no_tool_calls"


def test_bad_arguments_and_unknown_tool_get_error_results_and_are_counted(tmp_path: Path) -> None:
    """Arguments that are not JSON and an unknown tool each get an error tool result; the model corrects itself."""
    script = [
        calls(Call("sol_transfer", "{not json")),
        tool_call("teleport_sol", amount=1),
        *SOLUTIONS["001-sol-transfer"],
    ]
    result, fake = _run("001-sol-transfer", script, tmp_path)
    assert result.score == 1.0 and result.steps[0]["info"]["tool_errors"] == 2
    results = [json.loads(m["content"]) for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert "not valid JSON" in results[0]["error"] and "unknown tool 'teleport_sol'" in results[1]["error"]
    outputs = [e["tool_output"] for e in _lines(result.otel_path) if e["event_type"] == "ToolOutput"]
    assert [o["success"] for o in outputs] == [False, False, True]
    assert outputs[0]["error_message"].startswith("Tool failed:")


def test_object_arguments_missing_usage_and_reasoning_content_are_tolerated(tmp_path: Path) -> None:
    """Arguments sent as a JSON object, a reply without usage and GLM's reasoning_content still solve the task."""
    call = sol("RECIPIENT_WALLET_PUBKEY", 100_000_000)
    call.as_object = True
    script = [Turn(calls=[call], usage=False, reasoning_content="The user wants 0.1 SOL."), text("Done.", usage=False)]
    result, fake = _run("001-sol-transfer", script, tmp_path)
    assert result.score == 1.0 and result.error is None
    assert _session(result)["usage"]["total_tokens"] == 0
    echoed = fake.requests[1]["messages"][2]
    assert isinstance(echoed["tool_calls"][0]["function"]["arguments"], str) and "reasoning_content" not in echoed


def test_max_turns_scores_what_was_built(tmp_path: Path) -> None:
    """At max turns the step ends with what was built and the reason recorded."""
    script = [calls(sol("RECIPIENT_WALLET_PUBKEY", 100_000_000)), tool_call("get_account_balance", pubkey="RECIPIENT_WALLET_PUBKEY")]
    result, fake = _run("001-sol-transfer", script, tmp_path, REEV_LLM_MAX_TURNS="2")
    # The second turn's balance call still runs, but no third request is sent.
    assert result.score == 1.0 and result.steps[0]["info"]["stop_reason"] == "max_turns" and len(fake.requests) == 2
    assert result.steps[0]["info"]["tool_calls"] == 2


def test_balance_tool_reads_current_state(tmp_path: Path) -> None:
    """get_account_balance answers from the VM's current state (flow step 2 sees step 1's transfer)."""
    script = [
        *SOLUTIONS["011-flow-sol-then-usdc"][:2],
        tool_call("get_account_balance", pubkey="RECIPIENT_WALLET_PUBKEY"),
        *SOLUTIONS["011-flow-sol-then-usdc"][2:],
    ]
    result, fake = _run("011-flow-sol-then-usdc", script, tmp_path)
    balance = json.loads(fake.requests[3]["messages"][-1]["content"])
    assert balance["lamports"] == 50_000_000 and balance["exists"] is True
    assert result.score == pytest.approx(1.0) and len(result.steps) == 2
    otel = _lines(result.otel_path)
    assert [e["metadata"]["step_name"] for e in otel if e["event_type"] == "StepComplete"] == [
        "011-flow-sol-then-usdc-step-1",
        "011-flow-sol-then-usdc-step-2",
    ]


def test_response_cache_makes_a_rerun_free(tmp_path: Path) -> None:
    """With REEV_LLM_CACHE_DIR a second identical run sends no request and scores the same."""
    cache = str(tmp_path / "cache")
    first, fake1 = _run("001-sol-transfer", list(SOLUTIONS["001-sol-transfer"]), tmp_path / "a", REEV_LLM_CACHE_DIR=cache)
    second, fake2 = _run("001-sol-transfer", [error(500)], tmp_path / "b", REEV_LLM_CACHE_DIR=cache)
    assert len(fake1.requests) == 2 and fake2.requests == []
    assert second.score == first.score == 1.0
    assert all(r["cached"] for r in _lines(tmp_path / "b" / "llm_s1.jsonl"))


def test_cache_entries_that_are_links_or_oversized_are_misses(tmp_path: Path) -> None:
    """A cache entry swapped for a symlink, or grown past the answer limit, is asked again and rewritten, never read."""
    from runner.llm.backend import MAX_RESPONSE_BYTES

    cache = tmp_path / "cache"
    _run("001-sol-transfer", list(SOLUTIONS["001-sol-transfer"]), tmp_path / "a", REEV_LLM_CACHE_DIR=str(cache))
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 2
    outside = tmp_path / "outside.json"
    outside.write_bytes(entries[0].read_bytes())
    entries[0].unlink()
    entries[0].symlink_to(outside)
    with entries[1].open("ab") as fh:
        fh.truncate(MAX_RESPONSE_BYTES + 1)  # sparse: oversized without using the disk
    again, fake = _run("001-sol-transfer", list(SOLUTIONS["001-sol-transfer"]), tmp_path / "b", REEV_LLM_CACHE_DIR=str(cache))
    assert again.score == 1.0 and len(fake.requests) == 2
    assert not entries[0].is_symlink() and entries[1].stat().st_size < MAX_RESPONSE_BYTES


def test_recorded_llm_log_replays_offline_to_the_same_result(tmp_path: Path) -> None:
    """The responses of an llm_<id>.jsonl, replayed through the backend seam, rebuild the same instructions and score."""
    from runner.agents.catalog import AgentConfig
    from runner.llm.agent import LlmAgent
    from runner.llm.backend import ReplayBackend
    from runner.llm.settings import LlmSettings

    first, _fake = _run("005-spl-transfer-create-recipient-ata", list(SOLUTIONS["005-spl-transfer-create-recipient-ata"]), tmp_path / "a")
    replay = ReplayBackend.from_llm_log(tmp_path / "a" / "llm_s1.jsonl")
    agent = LlmAgent(AgentConfig("openai:fake-model", "openai", "fake-model", "replay:", "unused"), LlmSettings(), replay)
    bench = load_benchmark_file(BENCHMARKS / "005-spl-transfer-create-recipient-ata.yml")
    second = run_benchmark(bench, agent, "s2", tmp_path / "b")
    assert (second.score, second.success) == (first.score, first.success) == (1.0, True)
    assert _named(second) == _named(first)
