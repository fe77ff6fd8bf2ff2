"""The LLM-agent routes in process (agents detail, evals, compare, an execution's model calls),
every body validated against the OpenAPI document; llm_<id>.jsonl ingested exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reevd import keys
from tests.helpers import REPO
from tests.unit.test_api_compat import Make, app_of, checked, make_client  # noqa: F401 - make_client is a fixture

SESSION = {
    "session_id": "llm-1", "benchmark_id": "001-sol-transfer", "agent_type": "openai:m", "start_time": 1, "end_time": 2,
    "events": [], "final_result": {"success": True, "score": 1.0, "status": "Succeeded", "execution_time_ms": 5,
                                    "data": {"prompt": "p", "steps": []}},
    "model": "m", "provider_url": "http://127.0.0.1:1/v1", "cost_usd": 0.25,
    "usage": {"requests": 2, "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "latency_ms": 30.0, "retries": 1},
}


def _llm_line(turn: int) -> str:
    return json.dumps({"timestamp": "2026-11-21T00:00:00.000000Z", "session_id": "llm-1", "step": 1, "turn": turn,
                       "request": {"model": "m", "messages": []}, "response": {"choices": []}, "latency_ms": 15.0,
                       "retries": 0, "usage": None, "finish_reason": "stop", "cached": False, "error": None})


async def test_agents_detail_lists_runnable_and_missing(make_client: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """?detail=true lists each agent with runnable and its missing setting; the plain list stays upstream's names."""
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    client = await make_client()
    names = await checked(client, "GET", "/api/v1/agents", "/agents")
    detail = await checked(client, "GET", "/api/v1/agents?detail=true", "/agents")
    infos = {a["name"]: a for a in detail["agents"]}
    assert names[:4] == ["deterministic", "local", "glm-4.6", "glm-4.6-coding"] and list(infos) == names
    assert infos["deterministic"]["runnable"] is True and infos["glm-4.6"]["missing"] == "ZAI_API_KEY"
    await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                  json={"agent_type": "glm-4.6", "api_key": "zai-key-1234"})
    after = await checked(client, "GET", "/api/v1/agents?detail=true", "/agents")
    assert {a["name"]: a for a in after["agents"]}["glm-4.6"]["runnable"] is True


async def test_eval_lifecycle_and_compare_shapes(make_client: Make) -> None:
    """An eval queues agents x benchmarks x epochs, reports every cell and finishes as its runs end."""
    client = await make_client(benchmarks=[REPO / "benchmarks" / "001-sol-transfer.yml", REPO / "benchmarks" / "002-spl-transfer.yml"])
    started = await checked(client, "POST", "/api/v1/evals", "/evals", status=202,
                            json={"agents": ["deterministic"], "benchmarks": "all", "epochs": 2})
    assert started["runs"] == 4 and len(started["execution_ids"]) == 4
    bad = await checked(client, "POST", "/api/v1/evals", "/evals", status=400, json={"agents": [], "benchmarks": "all"})
    assert bad["message"].startswith("agents")
    missing = await checked(client, "POST", "/api/v1/evals", "/evals", status=404,
                            json={"agents": ["deterministic"], "benchmarks": ["999-nope"]})
    assert "999-nope" in missing["message"]
    url = f"/api/v1/evals/{started['eval_id']}"

    async def finished() -> dict | None:
        body = await checked(client, "GET", url, "/evals/{eval_id}")
        return body if body["status"] == "completed" else None

    import time
    deadline = time.monotonic() + 20
    report = await finished()
    while report is None and time.monotonic() < deadline:
        await app_of(client)[keys.INGESTOR].wait_idle()
        report = await finished()
    assert report is not None and report["finished"] == 4
    # The stub runner exits without a session: every run Failed, scored 0.
    assert [(c["benchmark_id"], c["runs"], c["finished"], c["mean_score"], c["pass_rate"]) for c in report["cells"]] == [
        ("001-sol-transfer", 2, 2, 0.0, 0.0), ("002-spl-transfer", 2, 2, 0.0, 0.0)]
    listed = await checked(client, "GET", "/api/v1/evals", "/evals")
    assert listed["evals"][0]["eval_id"] == started["eval_id"]
    compared = await checked(client, "GET", "/api/v1/compare?agents=deterministic&benchmarks=002-spl-transfer", "/compare")
    assert [(c["agent"], c["benchmark_id"], c["finished"]) for c in compared["cells"]] == [("deterministic", "002-spl-transfer", 2)]
    await checked(client, "GET", "/api/v1/evals/nope", "/evals/{eval_id}", status=404)


async def test_llm_file_ingested_exactly_once_and_served(make_client: Make, tmp_path: Path) -> None:
    """llm_<id>.jsonl lines become the run's calls once, also across a restart; usage and cost reach the execution."""
    root = tmp_path / "root"
    sessions = root / "logs" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "llm_llm-1.jsonl").write_text(_llm_line(1) + "\n" + _llm_line(2) + "\n")
    (sessions / "session_llm-1.json").write_text(json.dumps(SESSION))
    client = await make_client(root=root)
    body = await checked(client, "GET", "/api/v1/executions/llm-1/llm", "/executions/{execution_id}/llm")
    assert [c["call"]["turn"] for c in body["calls"]] == [1, 2]
    state = await checked(client, "GET", "/api/v1/executions/llm-1", "/executions/{execution_id}")
    assert state["result_data"]["llm"] == {k: SESSION[k] for k in ("model", "provider_url", "usage", "cost_usd")}
    perf = await checked(client, "GET", "/api/v1/agent-performance", "/agent-performance")
    assert (perf[0]["total_tokens"], perf[0]["cost_usd"], perf[0]["mean_latency_ms"]) == (120, 0.25, 15.0)
    await client.close()
    with (sessions / "llm_llm-1.jsonl").open("a") as fh:
        fh.write(_llm_line(3) + "\n")
    again = await make_client(root=root)
    body = await checked(again, "GET", "/api/v1/executions/llm-1/llm", "/executions/{execution_id}/llm")
    assert [c["call"]["turn"] for c in body["calls"]] == [1, 2, 3]
    await checked(again, "GET", "/api/v1/executions/nope/llm", "/executions/{execution_id}/llm", status=404)


async def test_llm_calls_are_served_in_pages_bounded_in_bytes(make_client: Make, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A transcript larger than one page is cut by bytes, and next_after resumes it with nothing lost or repeated."""
    import reevd.store.llm_calls as llm_store

    line = len(_llm_line(1))
    monkeypatch.setattr(llm_store, "PAGE_BYTES", 2 * line + 10)  # two calls per page
    root = tmp_path / "root"
    sessions = root / "logs" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "llm_llm-1.jsonl").write_text("".join(_llm_line(t) + "\n" for t in range(1, 6)))
    (sessions / "session_llm-1.json").write_text(json.dumps(SESSION))
    client = await make_client(root=root)
    turns, after, pages = [], -1, 0
    while True:
        body = await checked(client, "GET", f"/api/v1/executions/llm-1/llm?after={after}", "/executions/{execution_id}/llm")
        pages += 1
        assert len(body["calls"]) <= 2
        turns += [c["call"]["turn"] for c in body["calls"]]
        after = body["next_after"]
        if not body["has_more"]:
            break
    assert turns == [1, 2, 3, 4, 5] and pages == 3
    await checked(client, "GET", "/api/v1/executions/llm-1/llm?after=x", "/executions/{execution_id}/llm", status=400)


async def test_event_feed_loses_no_run_of_a_burst_larger_than_its_queue(make_client: Make) -> None:
    """1,100 runs queued in one commit (an eval): the global feed sends a frame for every one, none dropped."""
    import asyncio

    from reevd.store.evals import EvalCreated, EvalQueued
    from reevd.store.writes import RunQueued

    client = await make_client()
    resp = await client.get("/api/v1/stream")
    assert (await resp.content.readline()).startswith(b": connected")
    ids = [f"burst-{i}" for i in range(1100)]  # more than the hub's queue of 1024 notices
    runs = tuple(RunQueued(i, "001-sol-transfer", "deterministic", 60.0, "{}", "2026-11-21T00:00:00.000Z") for i in ids)
    await app_of(client)[keys.STORE].writer.write(
        EvalQueued(EvalCreated("burst", "2026-11-21T00:00:00.000Z", "[]", "[]", 1, len(ids)), runs))
    seen: set[str] = set()

    async def read_frames() -> None:
        while not seen >= set(ids):
            line = await resp.content.readline()
            if line.startswith(b"data: "):
                seen.add(json.loads(line[6:])["execution_id"])

    await asyncio.wait_for(read_frames(), 20)
    resp.close()


async def test_a_saved_or_daemon_key_never_follows_its_agent_to_another_url(make_client: Make, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving another api_url without a key drops the saved key, and the daemon's own key stays with the daemon's URL."""
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZAI_API_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-daemon-own")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    client = await make_client(root=tmp_path / "cfg")

    async def glm() -> dict[str, Any]:
        detail = await checked(client, "GET", "/api/v1/agents?detail=true", "/agents")
        return {a["name"]: a for a in detail["agents"]}

    await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                  json={"agent_type": "glm-4.6", "api_url": "http://127.0.0.1:9/a/v1", "api_key": "zai-saved-1234"})
    assert (await glm())["glm-4.6"]["runnable"] is True
    # The UI re-sends the masked key; a page elsewhere may post any URL: neither keeps the key for the new URL.
    await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                  json={"agent_type": "glm-4.6", "api_url": "http://127.0.0.1:9/b/v1", "api_key": "***1234"})
    after = (await glm())["glm-4.6"]
    assert after["runnable"] is False and after["missing"] == "ZAI_API_KEY"
    await client.close()
    client = await make_client(root=tmp_path / "cfg")  # the database agrees with the daemon's memory
    after = (await glm())["glm-4.6"]
    assert after["runnable"] is False and after["missing"] == "ZAI_API_KEY"
    await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                  json={"agent_type": "gpt-4o", "api_url": "http://127.0.0.1:9/c/v1"})
    gpt = (await glm())["gpt-4o"]
    assert gpt["runnable"] is False and gpt["missing"] == "OPENAI_API_KEY", gpt
