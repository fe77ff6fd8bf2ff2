"""The one routing table."""

from __future__ import annotations

from aiohttp import web

from reevd.api import executions, health, runs, streams
from reevd.api import metrics as metrics_api
from reevd.api import benchmark_yml, openapi
from reevd.api import web as dashboard
from reevd.api.compat import agents_config, benchmarks, flows, logs_views, performance

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
        # upstream reev's UI routes (../shared/docs/reev-api-contract.md)
        web.get(f"{API}/benchmarks", benchmarks.list_benchmarks),
        web.post(f"{API}/sync", benchmarks.sync),
        web.post(f"{API}/upsert-yml", benchmarks.upsert_yml),
        web.get(f"{API}/agents", benchmarks.list_agents),
        web.get(f"{API}/agent-performance", performance.agent_performance),
        web.get(f"{API}/agents/config/{{agent}}", agents_config.get_config),
        web.post(f"{API}/agents/config", agents_config.save_config),
        web.post(f"{API}/agents/test", agents_config.test_config),
        web.get(f"{API}/execution-logs/{{benchmark_id}}", logs_views.execution_trace),
        web.get(f"{API}/transaction-logs/{{benchmark_id}}", logs_views.transaction_logs),
        web.get(f"{API}/flows/{{session_id}}", flows.flow_diagram),
        web.get(f"{API}/flow-logs/{{benchmark_id}}", flows.flow_logs),
        web.get(f"{API}/openapi.json", openapi.openapi_json),
        web.get(f"{API}/benchmarks/{{benchmark_id}}/yml", benchmark_yml.benchmark_yml),
        *dashboard.ROUTES,  # the built-in dashboard at / (reevd/web/)
    ])
