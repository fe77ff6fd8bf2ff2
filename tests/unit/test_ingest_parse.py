"""Parsing session files and OTEL lines: upstream's shapes accepted, bad input named."""

from __future__ import annotations

import json

import pytest

from reevd.ingest.parse import InvalidInput, parse_ascii_otel_line, parse_otel_line, parse_session
from reevd.models import Status
from tests.helpers import CAPTURES

CAPTURED_SESSION = CAPTURES / "sessions" / "session_057d2e4a-f687-469f-8885-ad57759817c0.json"


def _session(**final: object) -> bytes:
    base = {"success": True, "score": 1.0, "status": "Succeeded", "data": {"steps": []}}
    base.update(final)
    return json.dumps({"session_id": "x", "benchmark_id": "b", "agent_type": "a", "start_time": 1761795821,
                       "end_time": 1761795858, "events": [], "final_result": base}).encode()


def test_upstream_capture_parses_as_completed() -> None:
    """Upstream's real session file becomes Completed with its score and epoch times as RFC 3339."""
    if not CAPTURED_SESSION.exists():
        pytest.skip(f"upstream captures not present at {CAPTURES}")
    parsed = parse_session(CAPTURED_SESSION.read_bytes())
    assert parsed.status is Status.COMPLETED
    assert parsed.score == 1.0
    assert parsed.benchmark_id == "001-sol-transfer" and parsed.agent == "glm-4.6"
    assert parsed.started_at == "2025-10-30T03:43:41.000Z"
    assert parsed.result_data["source"] == "session_file"
    assert parsed.result_data["final_result"]["data"]["steps"][0]["observation"]["last_transaction_status"] == "Success"


def test_failed_session_keeps_score_and_error() -> None:
    """success false means Failed, with the runner's error and real score kept."""
    parsed = parse_session(_session(success=False, score=0.75, status="Failed", error="boom"))
    assert parsed.status is Status.FAILED and parsed.score == 0.75 and parsed.error_message == "boom"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b'{"final_result": {"success": tru', "not valid JSON"),
        (b"[1,2]", "top level"),
        (b'{"final_result": 3}', "final_result"),
        (b'{"final_result": {"success": "yes"}}', "final_result.success"),
        (b'{"final_result": {"success": true, "score": "1"}}', "final_result.score"),
        (b'{"final_result": {"success": true, "score": NaN}}', "not valid JSON"),
        (b'{"final_result": {"success": true}, "start_time": "yesterday"}', "start_time"),
        (b'{"final_result": {"success": true}, "benchmark_id": 7}', "benchmark_id"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
        (b'{"final_result": {"success": true, "x": ' + b"[" * 300 + b"]" * 300 + b"}}", "final_result: cannot be stored"),
    ],
)
def test_bad_sessions_name_the_problem(data: bytes, field: str) -> None:
    """Every malformed session raises InvalidInput whose message names the field."""
    with pytest.raises(InvalidInput) as info:
        parse_session(data)
    assert field in str(info.value)


def test_otel_line_fields() -> None:
    """An OTEL line yields its type, time, tool name and the benchmark from metadata."""
    line = json.dumps({"timestamp": "2025-10-30T03:44:17.796472Z", "event_type": "ToolInput",
                       "tool_input": {"tool_name": "sol_transfer"}, "metadata": {"benchmark_id": "001"}}).encode()
    event_type, ts, tool_name, benchmark_id, agent = parse_otel_line(line)
    assert (event_type, ts, tool_name, benchmark_id, agent) == ("ToolInput", "2025-10-30T03:44:17.796472Z", "sol_transfer", "001", "")


def test_upstream_summary_record_is_an_event() -> None:
    """Upstream's closing summary (no event_type) is kept as a SessionSummary event, not an error."""
    event_type, ts, *_ = parse_otel_line(b'{"failed_tools":2,"logged_at":"2025-11-06T16:26:44.365455Z","total_events":12}')
    assert event_type == "SessionSummary" and ts == "2025-11-06T16:26:44.365455Z"


@pytest.mark.parametrize("line", [b"not json", b"[]", b'{"event_type": 3}', b'{"timestamp": "x"}'])
def test_bad_otel_lines(line: bytes) -> None:
    """Lines that are not event objects are rejected (and later counted, not fatal)."""
    with pytest.raises(InvalidInput):
        parse_otel_line(line)


AGREEMENT_LINES = [
    b'{"event_type":"ToolInput","timestamp":"t","tool_input":{"tool_name":"sol_transfer","args":{"a":[1,2]}},"metadata":{"benchmark_id":"001","agent":"deterministic"}}',
    b'{"failed_tools":2,"logged_at":"2025-11-06T16:26:44.365455Z","total_events":12}',
    b'{"event_type":null,"total_events":null,"logged_at":5}',
    b'{"event_type":"A","tool_input":"not an object","metadata":[1]}',
    b'{"event_type":"A","tool_input":{"tool_name":7},"metadata":{"agent":"","agent_type":"llm"}}',
    b'{"event_type":"A","event_type":"B","timestamp":3}',
    b'{"event_type":"' + b"x" * 100 + b'","tool_input":{"tool_name":"' + b"y" * 200 + b'"}}',
    b'{"event_type":"A","o":1E+2,"p":-0,"q":123456789012345678901234567890}',
    b'{"event_type":"A","o":"\\ud83d\\ude00 \\u00e9 \\n"}',
    b'{"event_type":""}', b'{"event_type":3}', b'{"timestamp":"x"}', b"[]", b"3", b'"s"', b"not json",
    b'{"event_type":"A","o":NaN}', b'{"event_type":"A","o":"\\ud800"}', b'{"event_type":"A","o":"a\tb"}',
    b'{"event_type":"A","o":[1,]}', b'{"event_type":"A"} x', b'{"event_type":"A","o":01}',
    b'{"event_type":"A","o":' + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"event_type":"A","tool_input":' + b'{"a":' * 1100 + b"1" + b"}" * 1100 + b"}",
]


@pytest.mark.parametrize("line", AGREEMENT_LINES)
def test_ascii_parse_agrees_with_the_full_parse(line: bytes) -> None:
    """The cheaper parse used for ASCII chunks keeps or rejects a line exactly as the full parse does, with the same fields."""
    try:
        expected = parse_otel_line(line)
    except InvalidInput as exc:
        with pytest.raises(InvalidInput) as info:
            parse_ascii_otel_line(line)
        assert str(info.value) == str(exc)
        return
    assert parse_ascii_otel_line(line) == expected
