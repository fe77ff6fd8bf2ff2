"""Launch and stop runs: upstream's routes plus the native cancel."""

from __future__ import annotations

from aiohttp import web

from reevd import keys
from reevd.errors import RequestError, bad_request, not_found
from reevd.api.params import read_json_object, safe_id
from reevd.api.render.execution import execution_state
from reevd.api.responses import json_response
from reevd.models import TERMINAL, Status

DEFAULT_AGENT = "deterministic"


async def run_benchmark(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    body = await read_json_object(request, required=False)
    agent = body.get("agent", DEFAULT_AGENT)
    if not isinstance(agent, str) or not agent:
        raise bad_request("agent", "expected a non-empty string")
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise bad_request("config", "expected an object")
    timeout = body.get("timeout_s")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        raise bad_request("timeout_s", "expected a number of seconds")
    launcher = request.app[keys.LAUNCHER]
    execution_id, status = await launcher.submit(benchmark_id, agent, timeout, metadata={"config": config} if config else {})
    # Upstream's response shape (its UI reads execution_id and status), plus `id`.
    return json_response({
        "execution_id": execution_id,
        "id": execution_id,
        "status": status.value,
        "duration_ms": 0,
        "result": None,
        "error": None,
        "logs": [],
        "tool_calls": [],
    })


async def _stop(request: web.Request, execution_id: str, benchmark_id: str | None) -> web.Response:
    store = request.app[keys.STORE]
    row = await store.reader.execution(execution_id)
    if row is None:
        raise not_found("execution", execution_id)
    if benchmark_id is not None and row["benchmark_id"] and row["benchmark_id"] != benchmark_id:
        raise RequestError(404, "not_found", f"execution '{execution_id}' is not a run of benchmark '{benchmark_id}'")
    if Status(row["status"]) in TERMINAL:
        raise RequestError(409, "already_ended", f"execution '{execution_id}' already ended: {row['status']}")
    if not await request.app[keys.LAUNCHER].stop(execution_id):
        raise RequestError(409, "not_controllable", f"execution '{execution_id}' was not launched by this daemon")
    row = await store.reader.execution(execution_id)
    assert row is not None
    return json_response(execution_state(row))


async def stop_benchmark_run(request: web.Request) -> web.Response:
    return await _stop(request, safe_id(request, "execution_id"), safe_id(request, "benchmark_id"))


async def cancel_execution(request: web.Request) -> web.Response:
    return await _stop(request, safe_id(request, "execution_id"), None)
