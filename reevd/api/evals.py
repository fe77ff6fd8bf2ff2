"""Evaluations and comparisons: POST/GET /api/v1/evals, GET /api/v1/evals/{id}, GET /api/v1/compare."""

from __future__ import annotations

import orjson
from aiohttp import web

from reevd import keys
from reevd.api.params import int_query, read_json_object, safe_id
from reevd.api.responses import json_response
from reevd.errors import bad_request, not_found
from reevd.eval_stats import TERMINAL, cells
from reevd.evals import eval_view, start_eval
from reevd.store import evals as q
from reevd.store.llm_calls import llm_calls
from runner.formats import is_safe_id

MAX_FILTER_NAMES = 100


async def create_eval(request: web.Request) -> web.Response:
    body = await read_json_object(request, required=True)
    started = await start_eval(request.app[keys.STORE], request.app[keys.LAUNCHER], body)
    return json_response(started, status=202)


async def list_evals(request: web.Request) -> web.Response:
    conn = request.app[keys.STORE].reader
    rows = await q.eval_rows(conn)
    done = await q.eval_progress(conn, [r["eval_id"] for r in rows])
    return json_response({"evals": [eval_view(r, done.get(r["eval_id"], 0)) for r in rows]})


async def get_eval(request: web.Request) -> web.Response:
    eval_id = request.match_info["eval_id"]
    if not is_safe_id(eval_id):
        raise bad_request("eval_id", "must be 1-128 letters, digits, '-' or '_'")
    conn = request.app[keys.STORE].reader
    row = await q.eval_row(conn, eval_id)
    if row is None:
        raise not_found("eval", eval_id)
    runs = await q.eval_runs(conn, eval_id)
    view = eval_view(row, sum(1 for r in runs if r["status"] in TERMINAL))
    planned = {(a, b): row["epochs"] for a in view["agents"] for b in view["benchmarks"]}
    return json_response({**view, "cells": cells(runs, planned)})


def _names(request: web.Request, field: str) -> list[str] | None:
    raw = request.query.get(field)
    if raw is None or raw.strip() == "":
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_FILTER_NAMES or any(len(n) > 210 for n in names):
        raise bad_request(field, f"at most {MAX_FILTER_NAMES} comma-separated names")
    return names


async def compare(request: web.Request) -> web.Response:
    rows = await q.finished_runs(request.app[keys.STORE].reader, _names(request, "agents"), _names(request, "benchmarks"))
    return json_response({"cells": cells(rows)})


async def execution_llm_calls(request: web.Request) -> web.Response:
    """GET /executions/{id}/llm: the run's model requests and responses (keys already redacted)."""
    execution_id = safe_id(request, "execution_id")
    after = int_query(request, "after", -1, -1, 2**62)
    reader = request.app[keys.STORE].reader
    if await reader.execution(execution_id) is None:
        raise not_found("execution", execution_id)
    rows, more = await llm_calls(reader, execution_id, after)  # bounded in bytes: lines may be 1 MiB each
    return json_response({"execution_id": execution_id,
                          "calls": [{"offset": r["offset"], "call": orjson.Fragment(r["body"])} for r in rows],
                          "next_after": rows[-1]["offset"] if rows else after, "has_more": more})
