"""The committed session/OTEL fixtures are what this runner writes (shape and outcomes)."""

from __future__ import annotations

import json

from runner.formats import EventType, classify_file_name
from tests.runner.conftest import FIXTURES

SESSIONS = FIXTURES / "sessions"
OUTCOMES = {
    "fixture-001-sol-transfer": ("Succeeded", 1.0, None),
    "fixture-003-spl-transfer-fail": ("Failed", 0.75, None),
    "fixture-004-partial-score-spl-transfer": ("Succeeded", 0.7857142857142857, None),
    "fixture-error-agent": ("Failed", 0.0, "agent"),
}


def test_fixture_files_are_named_and_shaped_like_runner_output() -> None:
    """Each fixture pair classifies by name and ends its OTEL stream with SessionComplete."""
    for sid, (status, score, error) in OUTCOMES.items():
        session_path, otel = SESSIONS / f"session_{sid}.json", SESSIONS / f"enhanced_otel_{sid}.jsonl"
        assert classify_file_name(session_path.name) == ("session", sid)
        assert classify_file_name(otel.name) == ("otel", sid)
        fr = json.loads(session_path.read_text())["final_result"]
        assert (fr["status"], fr["score"]) == (status, score)
        assert (fr["error"] is None) == (error is None)
        events = [json.loads(line) for line in otel.read_text().splitlines()]
        assert events[0]["event_type"] == EventType.PROMPT.value
        assert events[-1]["event_type"] == EventType.SESSION_COMPLETE.value
        assert events[-1]["metadata"]["status"] == status
