"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of every route reevd serves.

Tests validate real responses against these schemas (tests/unit/test_api_compat.py)
and a schemathesis run fuzzes the routes from it (tools/schemathesis_run.py, tests/e2e/test_compat_schemathesis.py), so this document
is checked, not decorative. Schemas list required fields; extras are allowed where other
modules may add fields (health, execution state), closed where the shape is ours alone.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from reevd import __version__, keys
from reevd.agents import runnable_agents
from reevd.api.responses import json_response
from reevd.api.agents import AGENT_RE
from reevd.models import Origin, Status
from runner.formats import SAFE_ID_RE

JSON = "application/json"
ID = {"type": "string", "pattern": SAFE_ID_RE.pattern}
AGENT = {"type": "string", "pattern": AGENT_RE.pattern}
STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NUM = {"type": "number"}
NNUM = {"type": ["number", "null"]}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
NTIME = {"type": ["string", "null"], "format": "date-time"}
STATUS = {"type": "string", "enum": [s.value for s in Status]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Any], required: list[str] | None = None, closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props,
                              "required": list(props) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


EVAL_PROPS: dict[str, Any] = {
    "eval_id": STR, "created_at": TIME, "agents": arr(STR), "benchmarks": arr(STR), "epochs": INT,
    "runs": INT, "finished": INT, "status": {"enum": ["running", "completed"]},
}

SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": STR, "message": STR}),
    "ExecutionState": obj({
        "execution_id": STR, "benchmark_id": STR, "agent": STR, "status": STATUS, "created_at": TIME,
        "updated_at": TIME, "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "error_message": NSTR, "result_data": {"type": ["object", "null"]}, "metadata": {"type": "object"},
        "id": STR, "score": NNUM, "started_at": NTIME, "finished_at": NTIME, "origin": {"enum": [o.value for o in Origin]},
        "exit_code": {"type": ["integer", "null"]}, "events_count": INT, "last_event_type": NSTR,
        "last_event_at": NSTR, "start_time": NTIME, "error": NSTR,
    }, required=["execution_id", "id", "benchmark_id", "agent", "status", "created_at", "updated_at", "progress",
                 "error_message", "result_data", "metadata"]),
    "ExecutionList": obj({"executions": arr(ref("ExecutionState")), "next_cursor": NSTR}, closed=True),
    "Event": obj({"offset": INT, "event_type": STR, "timestamp": NSTR, "tool_name": NSTR, "event": {"type": "object"}},
                 closed=True),
    "EventList": obj({"execution_id": STR, "events": arr(ref("Event")), "next_after": INT, "has_more": BOOL}, closed=True),
    "Health": obj({"status": {"enum": ["healthy", "degraded"]}, "timestamp": TIME, "version": STR},
                  required=["status", "timestamp", "version"]),
    "RunStarted": obj({
        "execution_id": STR, "id": STR, "status": {"enum": [Status.QUEUED.value, Status.RUNNING.value]}, "duration_ms": INT,
        "result": {"type": "null"}, "error": {"type": "null"}, "logs": arr({}), "tool_calls": arr({}),
    }),
    "Benchmark": obj({"id": ID, "description": STR, "tags": arr(STR), "prompt": STR, "runnable": BOOL,
                      "reason": NSTR, "file": STR, "steps": INT}, closed=True),
    "SyncCounts": obj({"processed_count": INT, "new_count": INT, "updated_count": INT, "unchanged_count": INT,
                       "error_count": INT, "removed_count": INT}, closed=True),
    "SyncResult": obj({"success": BOOL, "synced_count": ref("SyncCounts"),
                       "errors": arr(obj({"file": STR, "field": STR, "message": STR}, closed=True))}, closed=True),
    "UpsertRequest": obj({"yml_content": {"type": "string", "minLength": 1}}),
    "UpsertResult": obj({"success": BOOL, "benchmark_id": ID, "created": BOOL, "file": STR, "runnable": BOOL,
                         "reason": NSTR, "synced_count": ref("SyncCounts")}, closed=True),
    "PerformanceResult": obj({
        "id": STR, "session_id": STR, "benchmark_id": STR, "agent_type": STR, "score": NUM,
        "final_status": {"enum": ["Succeeded", "Failed"]}, "timestamp": TIME,
        "execution_time_ms": {"type": ["integer", "null"]}, "color_class": {"enum": ["green", "yellow", "red"]},
    }, closed=True),
    "AgentPerformance": obj({
        "agent_type": STR, "total_benchmarks": INT, "distinct_benchmarks": INT,
        "average_score": NUM, "success_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "best_benchmarks": arr(STR), "worst_benchmarks": arr(STR), "results": arr(ref("PerformanceResult")),
        "prompt_tokens": INT, "completion_tokens": INT, "total_tokens": INT, "cost_usd": NNUM, "mean_latency_ms": NNUM,
    }, closed=True),
    "RunHead": obj({"benchmark_id": STR, "execution_id": NSTR, "agent_type": NSTR,
                    "status": {"anyOf": [STATUS, {"type": "null"}]}, "is_running": BOOL, "progress": NNUM}),
    "ExecutionTrace": {"allOf": [ref("RunHead"), obj({"trace": STR, "message": NSTR})]},
    "TransactionLogs": {"allOf": [ref("RunHead"), obj({
        "transaction_logs": STR, "format": {"enum": ["tree", "plain"]}, "show_cu": BOOL, "message": NSTR})]},
    "FlowDiagram": obj({
        "session_id": STR, "diagram": STR,
        "metadata": obj({"benchmark_id": STR, "agent_type": STR, "status": STATUS, "score": NNUM, "events": INT,
                         "truncated": BOOL, "steps": INT, "tool_count": INT}, closed=True),
        "sessions": arr({}),
        "tool_calls": arr(obj({"tool_name": STR, "offset": INT, "timestamp": NSTR,
                               "success": {"type": ["boolean", "null"]}, "error": {}}, closed=True)),
    }, closed=True),
    "FlowLogs": obj({"benchmark_id": STR, "sessions": arr(obj({
        "session_id": STR, "execution_id": STR, "agent_type": STR, "status": STATUS, "is_running": BOOL,
        "progress": NNUM, "score": NNUM, "created_at": TIME, "finished_at": NTIME, "events_count": INT,
        "error_message": NSTR}, closed=True))}, closed=True),
    "AgentConfigRequest": {
        "type": "object", "required": ["agent_type"],
        "properties": {"agent_type": AGENT, "api_url": {"type": ["string", "null"], "pattern": "^(https?://[\\s\\S]*)?$", "maxLength": 4096},
                       "api_key": {"type": ["string", "null"], "maxLength": 4096}},
        "additionalProperties": {"type": ["string", "number", "boolean", "null"], "maxLength": 4096},
    },
    "AgentConfig": {
        "type": "object", "required": ["agent_type", "api_key", "updated_at"],
        "properties": {"agent_type": STR, "api_key": {"type": ["string", "null"], "pattern": r"^\*\*\*"},
                       "api_url": NSTR, "updated_at": TIME},
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
    "BenchmarkYml": obj({"benchmark_id": ID, "file": STR, "yml_content": STR}, closed=True),
    "AgentConfigSaved": obj({"status": {"const": "saved"}, "agent_type": STR}, closed=True),
    "AgentTestResult": obj({"status": {"enum": ["success", "error"]}, "message": STR, "agent_type": STR,
                            "missing": NSTR, "network_checked": BOOL, "latency_ms": NNUM,
                            "model": STR, "http_status": INT},
                           required=["status", "message", "agent_type", "missing", "network_checked", "latency_ms"],
                           closed=True),
    "AgentInfo": obj({"name": STR, "provider": {"enum": ["builtin", "local", "zai", "openai", "unknown"]},
                      "model": NSTR, "base_url": NSTR, "runnable": BOOL, "missing": NSTR}, closed=True),
    "EvalStarted": obj({"eval_id": STR, "execution_ids": arr(STR), "runs": INT}, closed=True),
    "Eval": obj(EVAL_PROPS, closed=True),
    "EvalCell": obj({"agent": STR, "benchmark_id": STR, "runs": INT, "finished": INT, "mean_score": NNUM,
                     "stderr": NNUM, "pass_rate": NNUM, "prompt_tokens": INT, "completion_tokens": INT,
                     "total_tokens": INT, "cost_usd": NNUM, "mean_latency_ms": NNUM,
                     "execution_ids": arr(STR)}, closed=True),
    "EvalReport": obj({**EVAL_PROPS, "cells": arr(ref("EvalCell"))}, closed=True),
    "LlmCalls": obj({"execution_id": STR, "calls": arr(obj({"offset": INT, "call": {"type": "object"}}, closed=True)),
                     "next_after": INT, "has_more": BOOL}, closed=True),
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "invalid input (the message names the field)", 404: "not found", 409: "conflict",
            413: "request body too large", 503: "unavailable"}
    return {str(c): _json(ref("Error"), text[c]) for c in codes}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _op(summary: str, ok: dict[str, Any], *errors: int, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, ok_code: str = "200", body_required: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok_code: ok, **_errors(*errors)}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {JSON: {"schema": body}}}
    return op


SSE = {"description": "Server-Sent Events (data is JSON text)", "content": {"text/event-stream": {"schema": {
    "type": "object", "required": ["data"],
    "properties": {"event": {"enum": ["otel", "status", "execution", "eval"]}, "data": STR, "id": STR}}}}}
EXECUTION_ID_Q = _query("execution_id", ID, "a run of this benchmark; default the latest")
def run_body(agents: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {
    "agent": {"enum": list(agents), "description": "one of GET /api/v1/agents"}, "config": {"type": ["object", "null"]},
    "timeout_s": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3600,
                  "description": "seconds; at most Config.max_timeout_s (3600)"}}}


def eval_body(agents: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "required": ["agents"], "properties": {
        "agents": {"type": "array", "items": {"enum": list(agents)}, "minItems": 1, "maxItems": 32, "uniqueItems": True,
                   "description": "agents of GET /api/v1/agents?detail=true that are runnable"},
        "benchmarks": {"oneOf": [{"const": "all"}, {"type": "array", "items": ID, "minItems": 1, "uniqueItems": True}]},
        "epochs": {"type": "integer", "minimum": 1, "maximum": 100}}}


def paths(agents: tuple[str, ...]) -> dict[str, Any]:
    """Every route; `agents` (the runnable ones: what a request may name) is the one part that varies."""
    return {

    "/metrics": {"get": _op("Prometheus metrics", {"description": "text exposition format", "content": {
        "text/plain": {"schema": STR}}})},
    "/api/v1/health": {"get": {"summary": "Liveness and the facts an operator checks first", "responses": {
        "200": _json(ref("Health"), "healthy"),
        "503": _json(ref("Health"), "degraded: `reasons` says why (database, watcher, writer, store fault)")}}},
    "/api/v1/executions": {"get": _op("Executions, newest first (keyset pages)", _json(ref("ExecutionList"), "a page"), 400,
                                      params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                                              _query("cursor", STR, "next_cursor of the previous page"),
                                              _query("benchmark", ID), _query("agent", AGENT),
                                              _query("status", STATUS)])},
    "/api/v1/executions/{execution_id}": {"get": _op("One execution", _json(ref("ExecutionState"), "its state"), 400, 404,
                                                     params=[_path_id("execution_id")])},
    "/api/v1/executions/{execution_id}/events": {"get": _op(
        "Its ingested OTEL events by byte offset", _json(ref("EventList"), "a page"), 400, 404,
        params=[_path_id("execution_id"), _query("after", {"type": "integer", "minimum": -1, "maximum": 2**62}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000})])},
    "/api/v1/executions/{execution_id}/stream": {"get": _op(
        "Its events live (SSE; id = byte offset; resumes after Last-Event-ID), then its final status", SSE, 400, 404, 503,
        params=[_path_id("execution_id"), _query("after", {"type": "integer", "minimum": -1, "maximum": 2**62})])},
    "/api/v1/stream": {"get": _op("Every execution status change (SSE); 503 past max-streams", SSE, 503)},
    "/api/v1/executions/{execution_id}/cancel": {"post": _op(
        "Stop a queued or running run (kills its process group)", _json(ref("ExecutionState"), "now Stopped"),
        400, 404, 409, params=[_path_id("execution_id")])},
    "/api/v1/benchmarks/{benchmark_id}/run": {"post": _op(
        "Start a run; answers at once", _json(ref("RunStarted"), "accepted"), 400, 404, 413, 503,
        params=[_path_id("benchmark_id")], body=run_body(agents), body_required=False)},
    "/api/v1/benchmarks/{benchmark_id}/stop/{execution_id}": {"post": _op(
        "Stop a run of this benchmark", _json(ref("ExecutionState"), "now Stopped"), 400, 404, 409,
        params=[_path_id("benchmark_id"), _path_id("execution_id")])},
    "/api/v1/benchmarks/{benchmark_id}/status/{execution_id}": {"get": _op(
        "A run's state (the UI polls it)", _json(ref("ExecutionState"), "its state"), 400, 404,
        params=[_path_id("benchmark_id"), _path_id("execution_id")])},
    "/api/v1/benchmarks/{benchmark_id}/status": {"get": _op(
        "The latest run of a benchmark", _json(ref("ExecutionState"), "its state"), 400, 404,
        params=[_path_id("benchmark_id"), _query("agent", AGENT)])},
    "/api/v1/benchmarks": {"get": _op("Benchmarks, sorted by id, one per id (114* hidden as upstream)",
                                      _json(arr(ref("Benchmark")), "the catalog"))},
    "/api/v1/sync": {"post": _op("Rescan benchmarks/ into the catalog", _json(ref("SyncResult"), "counts"))},
    "/api/v1/upsert-yml": {"post": _op(
        "Validate a benchmark, write benchmarks/<id>.yml atomically, sync it", _json(ref("UpsertResult"), "written"),
        400, 413, body=ref("UpsertRequest"))},
    "/api/v1/agents": {"get": _op(
        "Agents this install knows: names (upstream's shape), or with ?detail=true each with runnable and the missing setting",
        _json({"oneOf": [arr(STR), obj({"agents": arr(ref("AgentInfo"))}, closed=True)]}, "names or details"), 400,
        params=[_query("detail", {"enum": ["true", "false", "1", "0", "yes", "no"]})])},
    "/api/v1/agent-performance": {"get": _op("Per-agent results of finished runs",
                                             _json(arr(ref("AgentPerformance")), "one per agent"))},
    "/api/v1/agents/config/{agent}": {"get": _op("Saved settings of an agent (key masked)",
                                                 _json(ref("AgentConfig"), "settings"), 400, 404,
                                                 params=[{"name": "agent", "in": "path", "required": True, "schema": AGENT}])},
    "/api/v1/agents/config": {"post": _op("Save an agent's settings", _json(ref("AgentConfigSaved"), "saved"), 400, 413,
                                          body=ref("AgentConfigRequest"))},
    "/api/v1/agents/test": {"post": _op("One real minimal request to the agent's API (GET /models, else a one-token completion)",
                                        _json(ref("AgentTestResult"), "latency and the server's answer or error"),
                                        400, 413, body=ref("AgentConfigRequest"))},
    "/api/v1/evals": {
        "post": _op("Start agents x benchmarks x epochs as queued runs", _json(ref("EvalStarted"), "accepted"),
                    400, 404, 413, body=eval_body(agents), ok_code="202"),
        "get": _op("Evaluations, newest first", _json(obj({"evals": arr(ref("Eval"))}, closed=True), "evals")),
    },
    "/api/v1/evals/{eval_id}": {"get": _op("An eval with per agent x benchmark statistics", _json(ref("EvalReport"), "report"),
                                           400, 404, params=[_path_id("eval_id")])},
    "/api/v1/compare": {"get": _op("Per agent x benchmark statistics over every finished run",
                                   _json(obj({"cells": arr(ref("EvalCell"))}, closed=True), "cells"), 400,
                                   params=[_query("agents", STR, "comma-separated agent names"),
                                           _query("benchmarks", STR, "comma-separated benchmark ids")])},
    "/api/v1/executions/{execution_id}/llm": {"get": _op(
        "An LLM run's model requests and responses (llm_<id>.jsonl as ingested, keys redacted)",
        _json(ref("LlmCalls"), "calls"), 400, 404,
        params=[_path_id("execution_id"), _query("after", {"type": "integer", "minimum": -1, "maximum": 2**62},
                                                "byte offset: calls after it (next_after of the last page)")])},
    "/api/v1/execution-logs/{benchmark_id}": {"get": _op(
        "Text trace of the latest (or given) run", _json(ref("ExecutionTrace"), "trace"), 400, 404,
        params=[_path_id("benchmark_id"), EXECUTION_ID_Q])},
    "/api/v1/transaction-logs/{benchmark_id}": {"get": _op(
        "Per-step tree of program logs of the latest (or given) run", _json(ref("TransactionLogs"), "logs"), 400, 404,
        params=[_path_id("benchmark_id"), EXECUTION_ID_Q,
                _query("format", {"enum": ["tree", "ascii", "plain", "raw"]}),
                _query("show_cu", {"enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]})])},
    "/api/v1/flows/{session_id}": {"get": {
        **_op("Mermaid stateDiagram of a run from its events", _json(ref("FlowDiagram"), "diagram"), 400, 404,
              params=[_path_id("session_id"), _query("format", {"enum": ["json", "html"]})]),
    }},
    "/api/v1/flow-logs/{benchmark_id}": {"get": _op(
        "Runs of a benchmark, newest first", _json(ref("FlowLogs"), "sessions"), 400,
        params=[_path_id("benchmark_id"), _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})])},
    "/api/v1/openapi.json": {"get": _op("This document", {"description": "OpenAPI 3.1", "content": {
        JSON: {"schema": {"type": "object"}}}})},
    "/api/v1/benchmarks/{benchmark_id}/yml": {"get": _op(
        "A benchmark's YAML text", _json(ref("BenchmarkYml"), "its file"), 400, 404, params=[_path_id("benchmark_id")])},
    "/": {"get": _op("The built-in dashboard (HTML page)", {"description": "the page", "content": {
        "text/html": {"schema": STR}}})},
    "/ui/{name}": {"get": _op("A file of the dashboard (JS, CSS, SVG)", {"description": "the file", "content": {
        t: {"schema": STR} for t in ("text/javascript", "text/css", "image/svg+xml")}}, 404,
        params=[{"name": "name", "in": "path", "required": True, "schema": STR}])},
    }


def document(agents: tuple[str, ...] | None = None) -> dict[str, Any]:
    all_paths = paths(runnable_agents() if agents is None else agents)
    # ?format=html answers a page instead of JSON.
    all_paths["/api/v1/flows/{session_id}"]["get"]["responses"]["200"]["content"]["text/html"] = {"schema": STR}
    return {
        "openapi": "3.1.0",
        "info": {"title": "reevd", "version": __version__,
                 "description": "reev-compatible benchmark daemon API. Every error is JSON {error, message}."},
        "paths": all_paths,
        "components": {"schemas": SCHEMAS},
    }


async def openapi_json(request: web.Request) -> web.Response:
    runnable = tuple(info.name for info in request.app[keys.AGENT_SETTINGS].describe() if info.runnable)
    return json_response(document(runnable))
