"""GET /api/v1/benchmarks/{id}/yml: a catalog benchmark's YAML text, as the dashboard shows it."""

from __future__ import annotations

import asyncio

from aiohttp import web

from reevd import keys
from reevd.errors import not_found
from reevd.api.params import safe_id
from reevd.api.responses import json_response
from reevd.store import benchmarks as q
from runner.benchmark import MAX_FILE_BYTES


async def benchmark_yml(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    row = await q.benchmark(request.app[keys.STORE].reader, benchmark_id)
    if row is None:
        raise not_found("benchmark", benchmark_id)
    folder = request.app[keys.CONFIG].benchmarks_dir
    path = folder / row["file_name"]  # a name the catalog found by listing the folder
    if path.parent != folder or path.is_symlink() or not path.is_file():
        raise not_found("benchmark file", row["file_name"])
    data = await asyncio.to_thread(path.read_bytes)
    return json_response({
        "benchmark_id": benchmark_id,
        "file": f"benchmarks/{path.name}",
        "yml_content": data[:MAX_FILE_BYTES].decode("utf-8", "replace"),
    })
