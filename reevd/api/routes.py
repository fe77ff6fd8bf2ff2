"""The one routing table."""

from __future__ import annotations

from aiohttp import web

from reevd.api import executions, health, runs, streams
from reevd.api import metrics as metrics_api

API = "/api/v1"


def add_routes(app: web.Application) -> None:
    app.router.add_routes([
        web.get("/metrics", metrics_api.metrics),  # Prometheus' conventional path, at the root
        web.get(f"{API}/health", health.health),
        web.get(f"{API}/executions", executions.list_executions),
        web.get(f"{API}/executions/{{execution_id}}", executions.get_execution),
        web.get(f"{API}/executions/{{execution_id}}/events", executions.list_events),
        web.get(f"{API}/executions/{{execution_id}}/stream", streams.stream_execution),
        web.get(f"{API}/stream", streams.stream_all),
        web.post(f"{API}/executions/{{execution_id}}/cancel", runs.cancel_execution),
        web.post(f"{API}/benchmarks/{{benchmark_id}}/run", runs.run_benchmark),
        web.post(f"{API}/benchmarks/{{benchmark_id}}/stop/{{execution_id}}", runs.stop_benchmark_run),
        web.get(f"{API}/benchmarks/{{benchmark_id}}/status/{{execution_id}}", executions.benchmark_execution_status),
        web.get(f"{API}/benchmarks/{{benchmark_id}}/status", executions.benchmark_latest_status),
    ])
