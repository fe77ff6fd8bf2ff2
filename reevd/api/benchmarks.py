"""Benchmarks: the catalog as the UI lists it, POST /sync and POST /upsert-yml."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiohttp import web

from reevd import keys
from reevd.errors import RequestError, bad_request
from reevd.api.responses import json_response
from reevd.api.params import read_json_object
from reevd.store import benchmarks as q
from runner.atomic import write_atomic
from runner.formats import BENCHMARK_SUFFIXES
from runner.benchmark import MAX_FILE_BYTES, BenchmarkError, load_benchmark_text

HIDDEN_PREFIX = "114"  # upstream hides 114 (an API-only query, no transaction to score)


def _view(row: dict) -> dict:
    return {
        "id": row["benchmark_id"],
        "description": row["description"],
        "tags": orjson.Fragment(row["tags"]),
        "prompt": row["prompt"],
        "runnable": bool(row["runnable"]),
        "reason": row["reason"],
        "file": row["file_name"],
        "steps": row["steps"],
    }


async def list_benchmarks(request: web.Request) -> web.Response:
    rows = await q.benchmarks(request.app[keys.STORE].reader)  # ORDER BY id; the id is the key
    return json_response([_view(r) for r in rows if not r["benchmark_id"].startswith(HIDDEN_PREFIX)])


async def sync(request: web.Request) -> web.Response:
    report = await request.app[keys.CATALOG].sync()
    counts = report.as_dict()
    errors = counts.pop("errors")
    return json_response({"success": report.error_count == 0, "synced_count": counts, "errors": errors})


async def upsert_yml(request: web.Request) -> web.Response:
    body = await read_json_object(request, required=True)
    text = body.get("yml_content")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("yml_content", "a non-empty string of benchmark YAML is required")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("yml_content", "not valid Unicode text") from None
    if len(data) > MAX_FILE_BYTES:
        raise RequestError(413, "payload_too_large", f"yml_content: {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        bench = load_benchmark_text(text, "yml_content")  # the runner's loader: safe YAML, one schema
    except BenchmarkError as exc:
        raise RequestError(400, "invalid_benchmark", str(exc)) from None
    folder = request.app[keys.CONFIG].benchmarks_dir
    # bench.id is a safe token (the loader checks), so this path stays inside the folder.
    candidates = [folder / f"{bench.id}{suffix}" for suffix in BENCHMARK_SUFFIXES]
    path = next((c for c in candidates if c.exists()), candidates[0])  # the file the launcher would run
    created = not path.exists()
    await asyncio.to_thread(write_atomic, path, data)
    catalog = request.app[keys.CATALOG]
    report = await catalog.sync()
    row = await q.benchmark(request.app[keys.STORE].reader, bench.id)
    counts = report.as_dict()
    counts.pop("errors")
    return json_response({
        "success": True,
        "benchmark_id": bench.id,
        "created": created,
        "file": f"benchmarks/{path.name}",
        "runnable": bool(row["runnable"]) if row else False,
        "reason": row["reason"] if row else "not in the catalog after sync; see the daemon log",
        "synced_count": counts,
    })

