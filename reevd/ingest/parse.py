"""Pure parsing: a session file's bytes or one OTEL line -> what to store. No I/O here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Annotated, Any

import msgspec
import orjson

from reevd.models import Status, iso_from_epoch, outcome_label, verdict
from runner.formats import EventType


class InvalidInput(ValueError):
    """Input that does not parse or has the wrong shape; the message names the field."""


@dataclass(frozen=True)
class ParsedSession:
    benchmark_id: str
    agent: str
    status: Status
    score: float | None
    started_at: str | None
    finished_at: str | None
    error_message: str | None
    result_data: dict[str, Any]
    result_json: str  # result_data serialised once, here, where a failure is an InvalidInput
    session_id: str | None


def _timestamp(value: Any, field: str) -> str | None:
    """Upstream writes epoch seconds; accept RFC 3339 strings too."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: expected a number or timestamp string")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 <= value < 1e11:
            raise InvalidInput(f"{field}: out of range")
        return iso_from_epoch(float(value))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(f"{field}: not an RFC 3339 timestamp") from exc
        if parsed.tzinfo is None:
            raise InvalidInput(f"{field}: timestamp has no time zone")
        return iso_from_epoch(parsed.timestamp())
    raise InvalidInput(f"{field}: expected a number or timestamp string")


def _optional_str(obj: dict[str, Any], key: str, field: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: expected a string")
    return value


def _llm_fields(doc: dict[str, Any]) -> dict[str, Any] | None:
    """An LLM run's model, provider_url, usage and cost_usd (the runner's session superset)."""
    usage = doc.get("usage")
    if not isinstance(usage, dict) and "model" not in doc:
        return None
    clean_usage = {
        k: v for k, v in (usage or {}).items()
        if k in ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "retries")
        and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }
    cost = doc.get("cost_usd")
    return {
        "model": doc.get("model") if isinstance(doc.get("model"), str) else None,
        "provider_url": doc.get("provider_url") if isinstance(doc.get("provider_url"), str) else None,
        "usage": clean_usage,
        "cost_usd": cost if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost) else None,
    }


def parse_session(data: bytes) -> ParsedSession:
    """Parse a session file (upstream's shape, or the runner's superset). Raises InvalidInput."""
    try:
        doc = orjson.loads(data)  # strict: rejects NaN, invalid UTF-8, nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("top level: expected a JSON object")
    final = doc.get("final_result")
    if not isinstance(final, dict):
        raise InvalidInput("final_result: missing or not an object")
    success = final.get("success")
    if not isinstance(success, bool):
        raise InvalidInput("final_result.success: expected true or false")
    score = final.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score)):
        raise InvalidInput("final_result.score: expected a finite number")
    upstream_status = final.get("status")
    if upstream_status is not None and not isinstance(upstream_status, str):
        raise InvalidInput("final_result.status: expected a string")
    error = final.get("error")
    error_message = error if isinstance(error, str) and error else None
    if error is not None and not isinstance(error, str):
        error_message = orjson.dumps(error).decode()[:2000]
    session_id = doc.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidInput("session_id: expected a string")
    status = verdict(final)
    result_data = {
        "success": success,
        "score": float(score) if score is not None else None,
        "status": upstream_status or outcome_label(status),
        "source": "session_file",
        "final_result": final,
    }
    llm = _llm_fields(doc)
    if llm is not None:
        result_data["llm"] = llm
    try:
        result_json = orjson.dumps(result_data).decode()
    except (orjson.JSONEncodeError, TypeError) as exc:  # orjson parses 1024 levels, writes 255
        raise InvalidInput(f"final_result: cannot be stored ({exc})") from exc
    return ParsedSession(
        benchmark_id=_optional_str(doc, "benchmark_id", "benchmark_id"),
        agent=_optional_str(doc, "agent_type", "agent_type"),
        status=status,
        score=float(score) if score is not None else None,
        started_at=_timestamp(doc.get("start_time"), "start_time"),
        finished_at=_timestamp(doc.get("end_time"), "end_time"),
        error_message=error_message,
        result_data=result_data,
        result_json=result_json,
        session_id=session_id,
    )


# How far along a run is, judged by the furthest kind of event seen.
PROGRESS_BY_EVENT: dict[str, float] = {
    EventType.PROMPT.value: 0.1,
    EventType.TOOL_INPUT.value: 0.3,
    EventType.TOOL_OUTPUT.value: 0.6,
    EventType.STEP_COMPLETE.value: 0.9,
    EventType.SESSION_COMPLETE.value: 0.95,
}


UPSTREAM_SUMMARY = "SessionSummary"


# What is kept of one OTEL line besides its bytes: (event_type, timestamp, tool_name,
# benchmark_id, agent). A plain tuple: a 1M-line file builds 1M of them.
OtelFields = tuple[str, str | None, str | None, str, str]


class _ToolInput(msgspec.Struct, gc=False):
    tool_name: Any = None


class _Metadata(msgspec.Struct, gc=False):
    benchmark_id: Any = None
    agent: Any = None
    agent_type: Any = None


class _OtelHead(msgspec.Struct, gc=False):
    """The keys an OTEL line is read for; msgspec checks the rest is JSON without building it."""

    event_type: Any = None
    timestamp: Any = None
    logged_at: Any = None
    total_events: Any = msgspec.UNSET
    tool_input: _ToolInput | None = None
    metadata: _Metadata | None = None


_decode_head = msgspec.json.Decoder(_OtelHead).decode


def parse_otel_line(line: bytes) -> OtelFields:
    """One complete OTEL line (without its newline), validated (a JSON object, UTF-8): its
    fields. The line's bytes themselves are the event's body. Raises InvalidInput."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc}") from exc
    if type(doc) is not dict:
        raise InvalidInput("expected a JSON object")
    get = doc.get
    event_type = get("event_type")
    timestamp = get("timestamp")
    if event_type is None and "total_events" in doc:
        event_type, timestamp = UPSTREAM_SUMMARY, get("logged_at")
    tool_input = get("tool_input")
    meta = get("metadata")
    return _fields(event_type, timestamp, tool_input.get("tool_name") if type(tool_input) is dict else None,
                   meta.get("benchmark_id") if type(meta) is dict else None,
                   (meta.get("agent") or meta.get("agent_type")) if type(meta) is dict else None)


def parse_ascii_otel_line(line: bytes) -> OtelFields:
    """parse_otel_line for a line known to be ASCII (so valid UTF-8), at a third of the cost:
    msgspec reads the few keys needed and only checks the rest. Anything it refuses or
    reads as another shape goes to parse_otel_line, which decides (and words the error)."""
    try:
        head = _decode_head(line)
    except (msgspec.DecodeError, RecursionError):  # malformed, too deep, or a key of another shape
        return parse_otel_line(line)
    event_type, timestamp = head.event_type, head.timestamp
    if event_type is None and head.total_events is not msgspec.UNSET:
        event_type, timestamp = UPSTREAM_SUMMARY, head.logged_at
    tool_input, meta = head.tool_input, head.metadata
    return _fields(event_type, timestamp, tool_input.tool_name if tool_input is not None else None,
                   meta.benchmark_id if meta is not None else None,
                   (meta.agent or meta.agent_type) if meta is not None else None)


def _fields(event_type: Any, timestamp: Any, tool_name: Any, benchmark_id: Any, agent: Any) -> OtelFields:
    # Upstream closes a session log with a summary record that has no event_type (capture
    # 974b44e5...: tool_calls, failed_tools, total_events, logged_at): the callers map it.
    if type(event_type) is not str or not event_type:
        raise InvalidInput("event_type: missing or not a string")
    return (
        event_type[:64],
        timestamp if type(timestamp) is str else None,
        tool_name[:128] if type(tool_name) is str else None,
        benchmark_id if type(benchmark_id) is str else "",
        agent if type(agent) is str else "",
    )


class _PlainToolInput(msgspec.Struct, gc=False):
    tool_name: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class _PlainMetadata(msgspec.Struct, gc=False):
    benchmark_id: str | None = None
    agent: str | None = None
    agent_type: str | None = None


class PlainOtelLine(msgspec.Struct, gc=False):
    """An OTEL line whose keys all have the plain shape the runner writes: the fields
    parse_otel_line would return, as they are (no cut, no other type to drop)."""

    event_type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    timestamp: str | None = None
    tool_input: _PlainToolInput | None = None
    metadata: _PlainMetadata | None = None


_decode_plain_lines = msgspec.json.Decoder(PlainOtelLine).decode_lines
_first, _last = itemgetter(0), itemgetter(-1)
DECODE_PIECE = 128 << 10


def parse_plain_otel_lines(data: bytes, stop: int) -> tuple[list[PlainOtelLine], list[int]] | None:
    """The lines data[:stop] (newline-separated) parsed in one C call when every one is plain:
    ASCII, `{` first and `}` last, and a PlainOtelLine. Then each line's fields are those
    parse_otel_line returns. With each line's length; None otherwise (parse line by line).

    msgspec reads a stream of values whatever the line breaks, so the lines are checked to
    hold one value each: a line that starts with `{` cannot continue a value left open by a
    line that ends with `}` (only `,` `}` `]` may follow a value), so no value spans two lines,
    and as many values as lines means one per line (an empty line fails the checks too).
    No step per line runs in Python here: split, map and bytes checks are C loops.
    """
    if not data.isascii():  # bytes past stop too: at worst this chunk goes line by line
        return None
    parts = data.split(b"\n")
    del parts[-1]  # what follows the last newline: a partial line, or nothing
    try:
        if bytes(map(_first, parts)).strip(b"{") or bytes(map(_last, parts)).strip(b"}"):
            return None
    except IndexError:  # an empty line
        return None
    view = memoryview(data)
    lines: list[PlainOtelLine] = []
    start = 0
    try:
        while start < stop:
            # In pieces of about DECODE_PIECE bytes cut at newlines: a C call keeps the GIL
            # until it returns, and the writer thread needs it back after each SQLite step.
            end = data.find(b"\n", min(start + DECODE_PIECE, stop))
            end = stop if end == -1 or end > stop else end
            lines += _decode_plain_lines(view[start:end])
            start = end + 1
    except (msgspec.DecodeError, RecursionError):  # one line is not plain: all go line by line
        return None
    if len(lines) != len(parts):
        return None
    return lines, list(map(len, parts))
