"""The one routing table, grouped by resource."""

from __future__ import annotations

from aiohttp import web

from reevd.api import agents, benchmarks, executions, flows, health, openapi, runs, streams, traces
from reevd.api import metrics as metrics_api

API = "/api/v1"


def add_routes(app: web.Application) -> None:
    app.router.add_routes([
        web.get("/metrics", metrics_api.metrics),  # Prometheus' conventional path, at the root
        web.get(f"{API}/health", health.health),
        web.get(f"{API}/openapi.json", openapi.openapi_json),
        # executions: state, events, live streams
        web.get(f"{API}/executions", executions.list_executions),
        web.get(f"{API}/executions/{{execution_id}}", executions.get_execution),
        web.get(f"{API}/executions/{{execution_id}}/events", executions.list_events),
        web.get(f"{API}/executions/{{execution_id}}/stream", streams.stream_execution),
        web.get(f"{API}/stream", streams.stream_all),
        web.get(f"{API}/benchmarks/{{benchmark_id}}/status/{{execution_id}}", executions.benchmark_execution_status),
        web.get(f"{API}/benchmarks/{{benchmark_id}}/status", executions.benchmark_latest_status),
        # runs: launch and stop
        web.post(f"{API}/benchmarks/{{benchmark_id}}/run", runs.run_benchmark),
        web.post(f"{API}/benchmarks/{{benchmark_id}}/stop/{{execution_id}}", runs.stop_benchmark_run),
        web.post(f"{API}/executions/{{execution_id}}/cancel", runs.cancel_execution),
        # benchmarks: the catalog
        web.get(f"{API}/benchmarks", benchmarks.list_benchmarks),
        web.post(f"{API}/sync", benchmarks.sync),
        web.post(f"{API}/upsert-yml", benchmarks.upsert_yml),
        # agents: what can run, how well it did, its settings
        web.get(f"{API}/agents", agents.list_agents),
        web.get(f"{API}/agent-performance", agents.agent_performance),
        web.get(f"{API}/agents/config/{{agent}}", agents.get_config),
        web.post(f"{API}/agents/config", agents.save_config),
        web.post(f"{API}/agents/test", agents.test_config),
        # text views of a run (upstream's UI): trace, program logs, flow diagram
        web.get(f"{API}/execution-logs/{{benchmark_id}}", traces.execution_trace),
        web.get(f"{API}/transaction-logs/{{benchmark_id}}", traces.transaction_logs),
        web.get(f"{API}/flows/{{session_id}}", flows.flow_diagram),
        web.get(f"{API}/flow-logs/{{benchmark_id}}", flows.flow_logs),
    ])
