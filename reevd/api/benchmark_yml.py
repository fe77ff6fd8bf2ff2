"""GET /api/v1/benchmarks/{id}/yml: a catalog benchmark's YAML text, as the dashboard shows it."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from reevd import keys
from reevd.errors import RequestError, not_found
from reevd.api.params import safe_id
from reevd.api.responses import json_response
from reevd.ingest.files import OutOfDescriptors, Refused, open_regular
from reevd.store import benchmarks as q
from runner.benchmark import MAX_FILE_BYTES
from runner.safe_files import read_prefix


def read_head(folder: str, name: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """At most `limit` bytes of a regular file, opened without following a symlink; None if it
    is not one. Bounded: a file grown huge after the catalog saw it is never read whole."""
    opened = open_regular(folder, name)
    if opened is None or isinstance(opened, Refused):
        return None
    fd, _ = opened
    try:
        return read_prefix(fd, limit)
    finally:
        os.close(fd)


async def benchmark_yml(request: web.Request) -> web.Response:
    benchmark_id = safe_id(request, "benchmark_id")
    row = await q.benchmark(request.app[keys.STORE].reader, benchmark_id)
    if row is None:
        raise not_found("benchmark", benchmark_id)
    name = row["file_name"]  # a name the catalog found by listing the folder
    if os.path.basename(name) != name:
        raise not_found("benchmark file", name)
    try:
        data = await asyncio.to_thread(read_head, os.fspath(request.app[keys.CONFIG].benchmarks_dir), name)
    except OutOfDescriptors:
        raise RequestError(503, "unavailable", "out of file descriptors; retry shortly") from None
    if data is None:
        raise not_found("benchmark file", name)
    return json_response({
        "benchmark_id": benchmark_id,
        "file": f"benchmarks/{name}",
        "yml_content": data.decode("utf-8", "replace"),
    })
