"""Contract tests for the reev-compatible routes, in process: the real app on a temp root and SQLite.

Every JSON body is also validated against GET /api/v1/openapi.json (`checked`).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from reevd import keys
from reevd.agents import available_agents
from reevd.api.openapi import document
from reevd.app import create_app
from reevd.catalog import Catalog
from reevd.config import Config
from reevd.store import Store
from reevd.store import benchmarks as catalog_q
from tests.helpers import CAPTURES, FIXTURES, REPO

STUB_RUNNER = (sys.executable, "-c", "pass")  # exits at once without a session file
DOC = document()

Make = Callable[..., Awaitable[TestClient]]


def schema_for(path: str, method: str, status: int) -> dict[str, Any]:
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    return responses[str(status)]["content"]["application/json"]["schema"]


def validate(body: Any, path: str, method: str, status: int) -> None:
    schema = {**schema_for(path, method, status), "components": DOC["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)


async def checked(client: TestClient, method: str, url: str, template: str, status: int = 200, **kw: Any) -> Any:
    """Call the route, assert the status, validate the JSON body against the OpenAPI document."""
    resp = await client.request(method, url, **kw)
    body = await resp.json()
    assert resp.status == status, body
    validate(body, f"/api/v1{template}", method.lower(), status)
    return body


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Await check() until it returns something truthy, with a deadline (never sleep-then-assert)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out; last value {value!r}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def probe_target(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[TestServer]:
    """A local server answering every GET with `handler`: what POST /agents/test probes."""
    fake = web.Application()
    fake.router.add_get("/{tail:.*}", handler)
    server = TestServer(fake)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def app_of(client: TestClient) -> web.Application:
    assert client.server.app is not None
    return client.server.app


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Make]:
    """Start in-process apps on temp roots, seeded with benchmark files and session fixtures."""
    clients: list[TestClient] = []

    async def make(root: Path | None = None, benchmarks: list[Path] | None = None,
                   sessions: list[Path] | None = None) -> TestClient:
        root = root or tmp_path / "root"
        (root / "benchmarks").mkdir(parents=True, exist_ok=True)
        (root / "logs" / "sessions").mkdir(parents=True, exist_ok=True)
        for f in benchmarks or []:
            shutil.copy(f, root / "benchmarks" / f.name)
        for f in sessions or []:
            shutil.copy(f, root / "logs" / "sessions" / f.name)
        client = TestClient(TestServer(create_app(Config(root=root, runner_command=STUB_RUNNER))))
        await client.start_server()
        clients.append(client)
        await app_of(client)[keys.INGESTOR].wait_idle()
        return client

    yield make
    for c in clients:
        await c.close()


def project_benchmarks() -> list[Path]:
    return sorted((REPO / "benchmarks").glob("*.yml"))


def fixture_sessions() -> list[Path]:
    return sorted((FIXTURES / "sessions").glob("*"))


def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.skip(f"upstream captures not found at {CAPTURES} (they live beside the repo, never in it)")
    return CAPTURES


# --- benchmarks ---------------------------------------------------------------------------


async def test_benchmarks_sorted_unique_and_runnable(make_client: Make) -> None:
    """The project's benchmarks are listed once each, sorted by id, all runnable on the embedded VM."""
    client = await make_client(benchmarks=project_benchmarks())
    body = await checked(client, "GET", "/api/v1/benchmarks", "/benchmarks")
    ids = [b["id"] for b in body]
    assert ids == sorted(set(ids)) and len(ids) == len(project_benchmarks())
    assert all(b["runnable"] and b["reason"] is None for b in body)
    first = body[0]
    assert first["id"] == "001-sol-transfer" and first["prompt"] and isinstance(first["tags"], list)


async def test_upstream_benchmarks_hide_114_and_say_why_not_runnable(make_client: Make) -> None:
    """Upstream's captured YAML: 114 hidden, Jupiter ones listed with runnable false and a reason."""
    files = sorted((captures() / "benchmarks").glob("*.yml"))
    client = await make_client(benchmarks=files)
    body = await checked(client, "GET", "/api/v1/benchmarks", "/benchmarks")
    ids = [b["id"] for b in body]
    assert not any(i.startswith("114") for i in ids) and len(ids) == len(files) - 1
    by_id = {b["id"]: b for b in body}
    assert by_id["001-sol-transfer"]["runnable"] is True
    assert by_id["100-jup-swap-sol-usdc"]["runnable"] is False
    assert "mainnet" in by_id["100-jup-swap-sol-usdc"]["reason"]


async def test_duplicate_ids_and_misnamed_files_never_duplicate(make_client: Make, tmp_path: Path) -> None:
    """Two files with one id give one row (the one named <id>.yml) and a counted error."""
    src = REPO / "benchmarks" / "001-sol-transfer.yml"
    copy = tmp_path / "zz-copy.yml"
    shutil.copy(src, copy)
    client = await make_client(benchmarks=[src, copy])
    body = await checked(client, "GET", "/api/v1/benchmarks", "/benchmarks")
    assert [b["id"] for b in body] == ["001-sol-transfer"] and body[0]["file"] == "001-sol-transfer.yml"
    sync = await checked(client, "POST", "/api/v1/sync", "/sync")
    assert sync["synced_count"]["error_count"] == 1 and sync["errors"][0]["file"] == "zz-copy.yml"
    (app_of(client)[keys.CONFIG].benchmarks_dir / "001-sol-transfer.yml").unlink()
    await checked(client, "POST", "/api/v1/sync", "/sync")
    body = await checked(client, "GET", "/api/v1/benchmarks", "/benchmarks")
    assert body[0]["file"] == "zz-copy.yml" and body[0]["runnable"] is False and "launcher runs" in body[0]["reason"]


async def test_sync_counts_new_updated_removed(tmp_path: Path) -> None:
    """A sync pass reports what changed on disk and removes rows whose file is gone (no watcher: no race)."""
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    files = project_benchmarks()
    for f in files[:3]:
        shutil.copy(f, folder)
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        catalog = Catalog(folder, store)
        first = (await catalog.sync()).as_dict()
        assert (first["new_count"], first["processed_count"], first["error_count"]) == (3, 3, 0)
        shutil.copy(files[3], folder)
        changed = folder / files[0].name
        changed.write_text(changed.read_text().replace("description:", "description: Changed.", 1))
        (folder / files[1].name).unlink()
        (folder / "broken.yml").write_text("id: [unclosed\n")
        report = (await catalog.sync()).as_dict()
        assert report.pop("errors")[0]["file"] == "broken.yml"
        assert report == {"processed_count": 4, "new_count": 1, "updated_count": 1, "unchanged_count": 1,
                          "error_count": 1, "removed_count": 1}
        ids = [r["benchmark_id"] for r in await catalog_q.benchmarks(store.reader)]
        assert ids == sorted([files[0].stem, files[2].stem, files[3].stem])
    finally:
        await store.close()


async def test_sync_route_shape(make_client: Make) -> None:
    """POST /sync answers upstream's {success, synced_count} with every count."""
    client = await make_client(benchmarks=project_benchmarks()[:2])
    body = await checked(client, "POST", "/api/v1/sync", "/sync")
    assert body["success"] is True and body["synced_count"]["processed_count"] == 2 and body["errors"] == []


async def test_watcher_keeps_catalog_in_step(make_client: Make) -> None:
    """A YAML file added to or removed from benchmarks/ shows in the list without any request to sync."""
    client = await make_client()
    folder = app_of(client)[keys.CONFIG].benchmarks_dir
    src = project_benchmarks()[0]

    async def ids() -> list[str]:
        return [b["id"] for b in await (await client.get("/api/v1/benchmarks")).json()]

    shutil.copy(src, folder / ".tmp-write")
    (folder / ".tmp-write").rename(folder / src.name)
    await until(lambda: _contains(ids(), src.stem))
    (folder / src.name).unlink()
    await until(lambda: _lacks(ids(), src.stem))


async def _contains(coro: Awaitable[list[str]], item: str) -> bool:
    return item in await coro


async def _lacks(coro: Awaitable[list[str]], item: str) -> bool:
    return item not in await coro


# --- upsert-yml ---------------------------------------------------------------------------


async def test_upsert_yml_writes_file_syncs_and_runs(make_client: Make) -> None:
    """A valid document lands as benchmarks/<id>.yml, is listed, and /run accepts it at once."""
    client = await make_client()
    text = (REPO / "benchmarks" / "001-sol-transfer.yml").read_text().replace("id: 001-sol-transfer", "id: my-new-bench")
    body = await checked(client, "POST", "/api/v1/upsert-yml", "/upsert-yml", json={"yml_content": text})
    assert body["benchmark_id"] == "my-new-bench" and body["created"] is True and body["runnable"] is True
    path = app_of(client)[keys.CONFIG].benchmarks_dir / "my-new-bench.yml"
    assert path.read_text() == text
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind
    ids = [b["id"] for b in await checked(client, "GET", "/api/v1/benchmarks", "/benchmarks")]
    assert ids == ["my-new-bench"]
    run = await checked(client, "POST", "/api/v1/benchmarks/my-new-bench/run", "/benchmarks/{benchmark_id}/run",
                        json={"agent": "deterministic"})
    assert run["status"] in ("Queued", "Running")
    again = await checked(client, "POST", "/api/v1/upsert-yml", "/upsert-yml", json={"yml_content": text})
    assert again["created"] is False and again["synced_count"]["unchanged_count"] == 1


@pytest.mark.parametrize(("payload", "status", "named"), [
    ({"yml_content": "id: [unclosed\n"}, 400, "line"),
    ({"yml_content": "id: x\ndescription: d\n"}, 400, "tags"),
    ({"yml_content": "id: ../../etc/passwd\ntags: []\n"}, 400, "id"),
    ({"yml_content": "!!python/object/apply:os.system ['true']\n"}, 400, "yml_content"),
    ({"yml_content": 5}, 400, "yml_content"),
    ({}, 400, "yml_content"),
    ({"yml_content": "#" * (256 * 1024 + 1)}, 413, "yml_content"),
])
async def test_upsert_yml_rejects_bad_input_naming_the_field(make_client: Make, payload: dict, status: int, named: str) -> None:
    """Invalid, unsafe or oversized YAML is refused with a JSON error naming the field; nothing is written."""
    client = await make_client()
    body = await checked(client, "POST", "/api/v1/upsert-yml", "/upsert-yml", status=status, json=payload)
    assert named in body["message"]
    assert list(app_of(client)[keys.CONFIG].benchmarks_dir.iterdir()) == []


# --- agents and performance ---------------------------------------------------------------


async def test_agents_lists_what_this_install_runs(make_client: Make) -> None:
    """GET /agents is the runner's registry, not upstream's hard-coded list."""
    client = await make_client()
    assert await checked(client, "GET", "/api/v1/agents", "/agents") == list(available_agents())


async def test_agent_performance_from_real_runs(make_client: Make) -> None:
    """The fixtures' finished runs give real scores, success rate and best/worst."""
    client = await make_client(sessions=fixture_sessions())
    body = await checked(client, "GET", "/api/v1/agent-performance", "/agent-performance")
    assert [a["agent_type"] for a in body] == ["deterministic"]
    perf = body[0]
    statuses = {r["benchmark_id"]: (r["score"], r["final_status"]) for r in perf["results"]}
    assert statuses["001-sol-transfer"] == (1.0, "Succeeded")
    assert statuses["003-spl-transfer-fail"] == (0.75, "Failed")
    assert perf["total_benchmarks"] == len(perf["results"]) == 4
    succeeded = sum(1 for r in perf["results"] if r["final_status"] == "Succeeded")
    assert perf["success_rate"] == pytest.approx(succeeded / 4)
    assert perf["average_score"] == pytest.approx(sum(r["score"] for r in perf["results"]) / 4, abs=1e-6)
    assert perf["best_benchmarks"][0] == "001-sol-transfer" and perf["worst_benchmarks"]
    assert not set(perf["best_benchmarks"]) & set(perf["worst_benchmarks"])
    assert all(r["timestamp"][:10].count("-") == 2 and r["timestamp"].endswith("Z") for r in perf["results"])


async def test_agent_performance_empty_db(make_client: Make) -> None:
    """An empty database gives an empty array, not an error."""
    client = await make_client()
    assert await checked(client, "GET", "/api/v1/agent-performance", "/agent-performance") == []


# --- execution and transaction logs -------------------------------------------------------


async def test_execution_trace_of_success_and_failure(make_client: Make) -> None:
    """The trace is top-level, values are bare (no JSON quotes), and a failure never ends with ✅."""
    client = await make_client(sessions=fixture_sessions())
    ok = await checked(client, "GET", "/api/v1/execution-logs/001-sol-transfer", "/execution-logs/{benchmark_id}")
    assert ok["is_running"] is False and ok["execution_id"] == "fixture-001-sol-transfer"
    assert "✓ Step 1" in ok["trace"] and "└─ OBSERVATION: Success" in ok["trace"] and '"' not in ok["trace"]
    assert ok["trace"].rstrip().splitlines()[-1].startswith("✅")
    bad = await checked(client, "GET", "/api/v1/execution-logs/003-spl-transfer-fail", "/execution-logs/{benchmark_id}")
    assert "✅" not in bad["trace"] and bad["trace"].rstrip().splitlines()[-1].startswith("❌")
    assert "Error:" in bad["trace"]


async def test_execution_trace_selection_and_absence(make_client: Make) -> None:
    """?execution_id= picks a run of that benchmark only; no run yet is 200 with an empty trace."""
    client = await make_client(sessions=fixture_sessions())
    url = "/api/v1/execution-logs/001-sol-transfer?execution_id=fixture-001-sol-transfer"
    assert (await checked(client, "GET", url, "/execution-logs/{benchmark_id}"))["trace"]
    other = "/api/v1/execution-logs/001-sol-transfer?execution_id=fixture-003-spl-transfer-fail"
    await checked(client, "GET", other, "/execution-logs/{benchmark_id}", status=404)
    none = await checked(client, "GET", "/api/v1/execution-logs/002-spl-transfer", "/execution-logs/{benchmark_id}")
    assert none["trace"] == "" and none["execution_id"] is None and none["is_running"] is False
    bad = await checked(client, "GET", "/api/v1/execution-logs/a%20b", "/execution-logs/{benchmark_id}", status=400)
    assert "benchmark_id" in bad["message"]


async def test_upstream_capture_trace_matches_contract(make_client: Make) -> None:
    """Upstream's own session file renders in upstream's trace layout (contract example)."""
    client = await make_client(sessions=sorted((captures() / "sessions").glob("*057d2e4a*")))
    body = await checked(client, "GET", "/api/v1/execution-logs/001-sol-transfer", "/execution-logs/{benchmark_id}")
    for line in ("📝 Prompt: Please send 0.1 SOL to the recipient (RECIPIENT_WALLET_PUBKEY).",
                 "      Program ID: 11111111111111111111111111111111",
                 "      [0] 🖋️ ➕ 9StANvGCH7f1oB8CMzThSuyEj6v4PGkwbgjyZVVQQjpq",
                 "      [1] 🖍️ ➕ 4RfnJuMwcLVznc7ZxjFbzAiuYzY46R5dC5wzGKrAWwVe",
                 "      Data (Base58): 3Bxs411Dtc7pkFQj",
                 "   └─ OBSERVATION: Success"):
        assert line in body["trace"].splitlines()
    perf = await checked(client, "GET", "/api/v1/agent-performance", "/agent-performance")
    assert perf[0]["agent_type"] == "glm-4.6" and perf[0]["results"][0]["final_status"] == "Succeeded"


async def test_transaction_logs_tree_plain_and_show_cu(make_client: Make) -> None:
    """A per-step tree nests program logs under their invocation; show_cu=false drops CU lines."""
    client = await make_client(sessions=fixture_sessions())
    base, tpl = "/api/v1/transaction-logs/003-spl-transfer-fail", "/transaction-logs/{benchmark_id}"
    tree = await checked(client, "GET", base, tpl)
    assert tree["format"] == "tree" and tree["show_cu"] is True
    text = tree["transaction_logs"]
    assert "Step 1: ❌" in text and "SPL Token Program" in text and "compute units" in text
    assert "      └─ ❌ failed: custom program error: 0x1" in text.splitlines()
    no_cu = await checked(client, "GET", base + "?show_cu=false", tpl)
    assert "compute units" not in no_cu["transaction_logs"] and no_cu["show_cu"] is False
    plain = await checked(client, "GET", base + "?format=plain", tpl)
    assert plain["format"] == "plain" and "  Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]" in plain["transaction_logs"]
    for query, field in (("?format=xml", "format"), ("?show_cu=maybe", "show_cu")):
        err = await checked(client, "GET", base + query, tpl, status=400)
        assert err["message"].startswith(field)


async def test_transaction_logs_nothing_yet_is_200_empty(make_client: Make) -> None:
    """A benchmark never run answers 200 with an empty string, not 404."""
    client = await make_client()
    body = await checked(client, "GET", "/api/v1/transaction-logs/001-sol-transfer", "/transaction-logs/{benchmark_id}")
    assert body["transaction_logs"] == "" and body["message"]


# --- flows ------------------------------------------------------------------------------


async def test_flow_diagram_json_and_html(make_client: Make) -> None:
    """The Mermaid diagram follows prompt -> agent -> tool -> step -> result; ?format=html is a page."""
    client = await make_client(sessions=fixture_sessions())
    body = await checked(client, "GET", "/api/v1/flows/fixture-001-sol-transfer", "/flows/{session_id}")
    lines = body["diagram"].splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> Prompt1" in lines and "    Agent --> Tool1 : call 1" in lines and "    Result --> [*]" in lines
    assert body["tool_calls"][0]["tool_name"] == "build_instructions" and body["tool_calls"][0]["success"] is True
    resp = await client.get("/api/v1/flows/fixture-001-sol-transfer?format=html")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert '<pre class="mermaid">' in page and "stateDiagram-v2" in page and "--&gt;" in page
    await checked(client, "GET", "/api/v1/flows/no-such-session", "/flows/{session_id}", status=404)
    await checked(client, "GET", "/api/v1/flows/fixture-001-sol-transfer?format=svg", "/flows/{session_id}", status=400)


async def test_flow_diagram_of_upstream_orchestrator_capture(make_client: Make) -> None:
    """Upstream's 14-line multi-tool OTEL file (no session file) gives a valid diagram of every tool call."""
    client = await make_client(sessions=sorted((captures() / "sessions").glob("*974b44e5*")))
    body = await checked(client, "GET", "/api/v1/flows/974b44e5-8346-47ed-9da7-916f0836696f", "/flows/{session_id}")
    assert body["metadata"]["tool_count"] == len(body["tool_calls"]) >= 2
    for line in body["diagram"].splitlines()[1:]:
        assert line.startswith("    ") and line.count('"') in (0, 2) and ";" not in line


async def test_flow_logs_lists_runs_of_a_benchmark(make_client: Make) -> None:
    """GET /flow-logs/{id} gives {benchmark_id, sessions} with each run's status."""
    client = await make_client(sessions=fixture_sessions())
    body = await checked(client, "GET", "/api/v1/flow-logs/001-sol-transfer", "/flow-logs/{benchmark_id}")
    assert [s["session_id"] for s in body["sessions"]] == ["fixture-001-sol-transfer"]
    assert body["sessions"][0]["status"] == "Completed" and body["sessions"][0]["is_running"] is False
    empty = await checked(client, "GET", "/api/v1/flow-logs/002-spl-transfer", "/flow-logs/{benchmark_id}")
    assert empty["sessions"] == []


# --- agent settings ---------------------------------------------------------------------


async def test_agent_config_persists_and_masks_key(make_client: Make, tmp_path: Path) -> None:
    """Settings survive a restart, the key is shown as ***+last4, and posting the mask (same URL) keeps the key."""
    root = tmp_path / "cfg"
    client = await make_client(root=root)
    await checked(client, "GET", "/api/v1/agents/config/glm-4.6", "/agents/config/{agent}", status=404)
    saved = await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                          json={"agent_type": "glm-4.6", "api_url": "https://api.example/v1", "api_key": "sk-secret-9876"})
    assert saved["status"] == "saved"
    got = await checked(client, "GET", "/api/v1/agents/config/glm-4.6", "/agents/config/{agent}")
    assert got["api_key"] == "***9876" and got["api_url"] == "https://api.example/v1"
    await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                  json={"agent_type": "glm-4.6", "api_url": "https://api.example/v1", "model": "glm-4.6", "api_key": "***9876"})
    await client.close()
    restarted = await make_client(root=root)
    got = await checked(restarted, "GET", "/api/v1/agents/config/glm-4.6", "/agents/config/{agent}")
    assert got["api_key"] == "***9876" and got["api_url"] == "https://api.example/v1"
    raw = await (await restarted.get("/api/v1/agents/config/glm-4.6")).text()
    assert "sk-secret" not in raw


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "agent_type"),
    ({"agent_type": "../x"}, "agent_type"),
    ({"agent_type": "a", "api_url": "ftp://x"}, "api_url"),
    ({"agent_type": "a", "model": {"nested": 1}}, "model"),
    ({"agent_type": "a", "api_key": 12}, "api_key"),
])
async def test_agent_config_rejects_bad_fields(make_client: Make, payload: dict, field: str) -> None:
    """Bad settings get a 400 JSON error naming the field."""
    client = await make_client()
    body = await checked(client, "POST", "/api/v1/agents/config", "/agents/config", status=400, json=payload)
    assert body["message"].startswith(field)


async def test_agent_test_reports_what_it_checked(make_client: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test route needs no network for the deterministic agent and names what keeps an LLM agent from running."""
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    client = await make_client()
    det = await checked(client, "POST", "/api/v1/agents/test", "/agents/test", json={"agent_type": "deterministic"})
    assert det["status"] == "success" and det["network_checked"] is False
    unknown = await checked(client, "POST", "/api/v1/agents/test", "/agents/test", json={"agent_type": "gemini"})
    assert unknown["status"] == "error" and unknown["network_checked"] is False and "known agents" in unknown["message"]
    glm = await checked(client, "POST", "/api/v1/agents/test", "/agents/test", json={"agent_type": "glm-4.6"})
    assert (glm["status"], glm["missing"], glm["network_checked"]) == ("error", "ZAI_API_KEY", False)


# --- cross-cutting ----------------------------------------------------------------------


async def test_cors_preflight_and_headers(make_client: Make) -> None:
    """A browser preflight is answered and every response allows any origin."""
    client = await make_client()
    pre = await client.options("/api/v1/upsert-yml", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert pre.status in (200, 204) and pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    resp = await client.get("/api/v1/benchmarks", headers={"Origin": "http://localhost:5173"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_error_bodies_are_json(make_client: Make) -> None:
    """Malformed bodies, wrong methods and unknown routes all answer {error, message}."""
    client = await make_client()
    for method, url, kw, status in (
        ("POST", "/api/v1/upsert-yml", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/api/v1/agents/config", {"json": ["a list"]}, 400),
        ("GET", "/api/v1/no-such-route", {}, 404),
        ("DELETE", "/api/v1/benchmarks", {}, 405),
    ):
        resp = await client.request(method, url, **kw)
        body = await resp.json()
        assert resp.status == status and set(body) == {"error", "message"}, (url, body)


async def test_openapi_documents_every_route(make_client: Make) -> None:
    """Every route the app serves is in the OpenAPI document, and nothing else is."""
    client = await make_client()
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc == orjson_roundtrip(DOC) and doc["openapi"].startswith("3.1")
    served = {(r.resource.canonical, r.method.lower()) for r in app_of(client).router.routes()
              if r.method != "HEAD" and r.resource is not None}
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented


async def test_health_and_existing_routes_match_document(make_client: Make) -> None:
    """The pre-existing routes (health, executions, events, status) answer what the document says."""
    client = await make_client(sessions=fixture_sessions())
    await checked(client, "GET", "/api/v1/health", "/health")
    page = await checked(client, "GET", "/api/v1/executions", "/executions")
    eid = page["executions"][0]["execution_id"]
    await checked(client, "GET", f"/api/v1/executions/{eid}", "/executions/{execution_id}")
    await checked(client, "GET", f"/api/v1/executions/{eid}/events", "/executions/{execution_id}/events")
    await checked(client, "GET", "/api/v1/benchmarks/001-sol-transfer/status", "/benchmarks/{benchmark_id}/status")
    await checked(client, "GET", "/api/v1/benchmarks/001-sol-transfer/status/fixture-001-sol-transfer",
                  "/benchmarks/{benchmark_id}/status/{execution_id}")
    await checked(client, "POST", f"/api/v1/executions/{eid}/cancel", "/executions/{execution_id}/cancel", status=409)
    await checked(client, "POST", "/api/v1/benchmarks/nope/run", "/benchmarks/{benchmark_id}/run", status=404, json={})


def orjson_roundtrip(value: Any) -> Any:
    import orjson

    return orjson.loads(orjson.dumps(value))


async def test_agent_test_never_sends_a_stored_key_to_a_url_it_was_not_saved_for(make_client: Make,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A test request naming another api_url but no key (any web page can post one) gets no stored key sent there."""
    from aiohttp.test_utils import TestServer

    seen: list[tuple[str, str | None]] = []

    async def models(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get("Authorization")))
        return web.json_response({"object": "list", "data": []})

    async with probe_target(models) as server:
        monkeypatch.delenv("ZAI_API_KEY", raising=False)
        monkeypatch.delenv("ZAI_API_URL", raising=False)
        client = await make_client()
        saved = str(server.make_url("/saved/v1"))
        await checked(client, "POST", "/api/v1/agents/config", "/agents/config",
                      json={"agent_type": "glm-4.6", "api_url": saved, "api_key": "sk-saved-secret"})
        ok = await checked(client, "POST", "/api/v1/agents/test", "/agents/test", json={"agent_type": "glm-4.6"})
        assert ok["status"] == "success" and seen == [("/saved/v1/models", "Bearer sk-saved-secret")]
        other = str(server.make_url("/elsewhere/v1"))
        refused = await checked(client, "POST", "/api/v1/agents/test", "/agents/test",
                                json={"agent_type": "glm-4.6", "api_url": other, "api_key": "***cret"})
        assert refused["status"] == "error" and refused["missing"] == "ZAI_API_KEY"
        assert not any(path.startswith("/elsewhere") for path, _auth in seen)
        own = await checked(client, "POST", "/api/v1/agents/test", "/agents/test",
                            json={"agent_type": "glm-4.6", "api_url": other, "api_key": "sk-given-now"})
        assert own["status"] == "success" and seen[-1] == ("/elsewhere/v1/models", "Bearer sk-given-now")


async def test_agent_probe_reads_only_the_start_of_a_huge_answer(make_client: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST /agents/test against a server streaming 64 MiB reads a few KB of it and answers with a bounded message."""
    total = 64 << 20
    sent = [0]

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        piece = b" " * (64 << 10)
        try:
            while sent[0] < total:
                await response.write(piece)
                sent[0] += len(piece)
        except (ConnectionError, RuntimeError):
            pass  # the probe hung up after its first few KB
        return response

    async with probe_target(endless) as server:
        monkeypatch.delenv("ZAI_API_KEY", raising=False)
        client = await make_client()
        body = await checked(client, "POST", "/api/v1/agents/test", "/agents/test",
                             json={"agent_type": "glm-4.6", "api_url": str(server.make_url("/v1")), "api_key": "sk-probe-key"})
        assert body["status"] == "success" and body["http_status"] == 200 and len(body["message"]) <= 1000
        assert sent[0] < total // 2, f"the probe read {sent[0]} bytes"


async def test_benchmark_yml_is_read_bounded_and_never_through_a_symlink(make_client: Make, tmp_path: Path) -> None:
    """GET /benchmarks/{id}/yml serves the file's text; a file swapped for a symlink is a 404, one grown huge is cut at the limit."""
    from runner.benchmark import MAX_FILE_BYTES

    client = await make_client(benchmarks=[REPO / "benchmarks" / "001-sol-transfer.yml"])
    resp = await client.get("/api/v1/benchmarks/001-sol-transfer/yml")
    body = await resp.json()
    path = tmp_path / "root" / "benchmarks" / "001-sol-transfer.yml"
    assert resp.status == 200 and body["yml_content"] == path.read_text()

    with path.open("ab") as fh:  # grown after the catalog read it
        fh.write(b"#" * (3 * MAX_FILE_BYTES))
    resp = await client.get("/api/v1/benchmarks/001-sol-transfer/yml")
    assert resp.status == 200 and len((await resp.json())["yml_content"]) == MAX_FILE_BYTES

    secret = tmp_path / "secret.txt"
    secret.write_text("not for clients")
    path.unlink()
    path.symlink_to(secret)
    resp = await client.get("/api/v1/benchmarks/001-sol-transfer/yml")
    body = await resp.json()
    assert resp.status == 404 and body["error"] == "not_found" and "not for clients" not in await resp.text()
