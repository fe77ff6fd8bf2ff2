"""Schemathesis against a real daemon, driven by its own OpenAPI document (about 15 s)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO


def test_schemathesis_finds_no_server_errors_or_contract_breaks() -> None:
    """Every generated request gets a non-5xx answer that matches the document, and no handler raises."""
    pytest.importorskip("schemathesis", reason="dev dependency schemathesis not installed (make install)")
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "schemathesis_run.py")],
        capture_output=True, text=True, timeout=110, cwd=REPO,
    )
    summary = proc.stdout[-4000:]
    assert proc.returncode == 0, summary + proc.stderr[-2000:]
    assert "daemon unhandled errors: 0" in summary
