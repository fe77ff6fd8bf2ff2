"""Pure renderers: the flow diagram and the execution view (upstream's status reply)."""

from __future__ import annotations

import orjson

from reevd.api.render.execution import execution_state
from reevd.api.render.flow_diagram import build_flow
from reevd.models import Status, verdict


def _event(offset: int, kind: str, body: dict, tool: str | None = None) -> dict:
    return {"offset": offset, "event_type": kind, "ts": None, "tool_name": tool, "body": orjson.dumps(body).decode()}


def test_finished_tool_call_edge_starts_at_that_call() -> None:
    """Two inputs then two outputs: each output's edge leaves its own tool, not the latest opened one."""
    events = [
        _event(0, "Prompt", {"prompt": {"user_prompt": "go"}}),
        _event(1, "ToolInput", {"tool_input": {"tool_name": "alpha"}}, "alpha"),
        _event(2, "ToolInput", {"tool_input": {"tool_name": "beta"}}, "beta"),
        _event(3, "ToolOutput", {"tool_output": {"success": True}}),
        _event(4, "ToolOutput", {"tool_output": {"success": False, "error_message": "boom"}}),
    ]
    flow = build_flow(events, None, None)
    back_edges = [line.strip() for line in flow.lines if "--> Agent :" in line and line.strip().startswith("Tool")]
    assert back_edges == ["Tool1 --> Agent : ok", "Tool2 --> Agent : error boom"]
    assert [c["success"] for c in flow.tool_calls] == [True, False]


def _row(**over: object) -> dict:
    row = {k: None for k in ("benchmark_id", "agent", "progress", "error_message", "result_data", "metadata", "score",
                             "started_at", "finished_at", "exit_code", "last_event_type", "last_event_at")}
    row.update(execution_id="e1", benchmark_id="001", agent="deterministic", status="Failed", origin="api",
               created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:01.000Z", events_count=0)
    row.update(over)
    return row


def test_status_reply_has_upstream_ui_aliases() -> None:
    """The status reply carries `start_time` and `error`, the names upstream's web UI reads."""
    state = execution_state(_row(started_at="2026-01-01T00:00:00.500Z", error_message="runner exited with code 1"))
    assert state["start_time"] == "2026-01-01T00:00:00.500Z"
    assert state["error"] == "runner exited with code 1"


def test_verdict_is_decided_by_the_final_result() -> None:
    """Upstream's status string wins over the flag; without it the success flag decides."""
    assert verdict({"success": True}) is Status.COMPLETED
    assert verdict({"success": False}) is Status.FAILED
    assert verdict({"success": True, "status": "Failed"}) is Status.FAILED
    assert verdict({"success": False, "status": "Succeeded"}) is Status.COMPLETED
