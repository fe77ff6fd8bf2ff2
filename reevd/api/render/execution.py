"""Views of stored rows: upstream's ExecutionState (plus our fields) and one OTEL event. Pure."""

from __future__ import annotations

from typing import Any

import orjson


def _json_or_none(text: str | None) -> Any:
    # Stored JSON is spliced in as-is: no parse and re-serialise on the hot status path.
    return orjson.Fragment(text) if text else None


def execution_state(row: dict[str, Any]) -> dict[str, Any]:
    """Upstream's ExecutionState fields in upstream's order, then `id` (the UI keys by it), extras and aliases."""
    return {
        "execution_id": row["execution_id"],
        "benchmark_id": row["benchmark_id"],
        "agent": row["agent"],
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "progress": row["progress"],
        "error_message": row["error_message"],
        "result_data": _json_or_none(row["result_data"]),
        "metadata": _json_or_none(row["metadata"]) or {},
        "id": row["execution_id"],
        "score": row["score"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "origin": row["origin"],
        "exit_code": row["exit_code"],
        "events_count": row["events_count"],
        "last_event_type": row["last_event_type"],
        "last_event_at": row["last_event_at"],
        # Aliases upstream's web UI reads: "Started: …" and a failed run's error.
        "start_time": row["started_at"] or row["created_at"],
        "error": row["error_message"],
    }


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "offset": row["offset"],
        "event_type": row["event_type"],
        "timestamp": row["ts"],
        "tool_name": row["tool_name"],
        "event": orjson.Fragment(row["body"]),
    }


EVENT_JSON_TAIL = b"}"


def event_json_head(row: dict[str, Any]) -> bytes:
    """event_view's JSON up to its body: head + body + EVENT_JSON_TAIL is exactly
    orjson.dumps(event_view(row)), so a big body can be written in pieces, never held whole."""
    encoded = orjson.dumps(event_view({**row, "body": b"0"}))
    assert encoded.endswith(b"0" + EVENT_JSON_TAIL)  # the body is the last field
    return encoded[:-2]
