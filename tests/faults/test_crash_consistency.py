"""The crash-consistency cycles, short: kill -9 at random moments while files are written and runs fly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.chaos import crash_cycles

pytestmark = pytest.mark.e2e


def test_kill9_cycles_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """Five SIGKILL/restart cycles: every OTEL line stored once, every session's state right, every run run once."""
    report = crash_cycles(tmp_path, cycles=5, seed=10)
    assert report.problems == [], report.problems
    assert report.runs == 10 and report.otel_lines > 0 and report.session_files > 0
