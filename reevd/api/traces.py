"""GET /execution-logs/{benchmark_id} and /transaction-logs/{benchmark_id}: text views of a run.

The UI reads a top-level `trace` (resp. `transaction_logs`) string and `is_running`. Both use
the latest execution of the benchmark, or `?execution_id=`. No execution yet is not an error
for the UI: 200 with an empty string and a message (upstream answered 404 here and the UI
showed nothing useful).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from reevd import keys
from reevd.api.render.trace_text import render_running, render_trace, render_transaction_logs
from reevd.errors import RequestError, bad_request, not_found
from reevd.api.params import optional_safe_id, safe_id
from reevd.api.responses import json_response
from reevd.models import ACTIVE, Status

FORMATS = {"tree": "tree", "ascii": "tree", "plain": "plain", "raw": "plain"}
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


async def execution_for(request: web.Request, benchmark_id: str) -> dict[str, Any] | None:
    """?execution_id= (must be a run of this benchmark) or the latest run; None when none yet."""
    reader = request.app[keys.STORE].reader
    execution_id = optional_safe_id(request, "execution_id")
    if execution_id is None:
        return await reader.latest_for_benchmark(benchmark_id)
    row = await reader.execution(execution_id)
    if row is None:
        raise not_found("execution", execution_id)
    if row["benchmark_id"] and row["benchmark_id"] != benchmark_id:
        raise RequestError(404, "not_found", f"execution '{execution_id}' is not a run of benchmark '{benchmark_id}'")
    return row


def _result_data(row: dict[str, Any]) -> Any:
    try:
        return orjson.loads(row["result_data"]) if row["result_data"] else None
    except orjson.JSONDecodeError:
        return None


def _head(benchmark_id: str, row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"benchmark_id": benchmark_id, "execution_id": None, "agent_type": None, "status": None,
                "is_running": False, "progress": None}
    return {"benchmark_id": benchmark_id, "execution_id": row["execution_id"], "agent_type": row["agent"] or None,
            "status": row["status"], "is_running": Status(row["status"]) in ACTIVE, "progress": row["progress"]}


async def execution_trace(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    row = await execution_for(request, benchmark_id)
    body = _head(benchmark_id, row)
    if row is None:
        return json_response({**body, "trace": "", "message": "no execution of this benchmark yet"})
    if body["is_running"]:
        trace = render_running(row["events_count"], row["last_event_type"])
    else:
        result = _result_data(row)
        if result is not None:
            trace = render_trace(result, status=row["status"], error_message=row["error_message"])
        else:  # ended without a session file: say how, never a bare ✅
            trace = f"❌ Execution {row['status']}" + (f" - Error: {row['error_message']}" if row["error_message"] else "")
    return json_response({**body, "trace": trace, "message": None})


def _bool_query(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise bad_request(name, "expected true or false")


async def transaction_logs(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    raw_format = request.query.get("format") or "tree"
    fmt = FORMATS.get(raw_format)
    if fmt is None:
        raise bad_request("format", f"must be one of {', '.join(sorted(FORMATS))}")
    show_cu = _bool_query(request, "show_cu", True)
    row = await execution_for(request, benchmark_id)
    body = {**_head(benchmark_id, row), "format": fmt, "show_cu": show_cu}
    if row is None:
        return json_response({**body, "transaction_logs": "", "message": "no execution of this benchmark yet"})
    logs = render_transaction_logs(_result_data(row), show_cu=show_cu, fmt=fmt)
    message = None
    if not logs:
        message = "execution still running: logs appear when it ends" if body["is_running"] else "no transaction was recorded"
    return json_response({**body, "transaction_logs": logs, "message": message})
