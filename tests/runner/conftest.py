"""Shared paths and helpers for the runner's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
FIXTURES = ROOT / "tests" / "fixtures"


def _find_captures() -> Path:
    """../shared/reev-captures from the repo root, or from a parent (a git worktree sits one level deeper)."""
    for base in ROOT.parents:
        candidate = base / "shared" / "reev-captures"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "reev-captures"


UPSTREAM = _find_captures()

# What the deterministic agent must score on the project's own benchmarks, and the verdict.
PROJECT_EXPECTED = {
    "001-sol-transfer": (1.0, True),
    "002-spl-transfer": (1.0, True),
    "003-spl-transfer-fail": (0.75, False),
    "004-partial-score-spl-transfer": (0.785714, True),
    "005-spl-transfer-create-recipient-ata": (1.0, True),
    "006-sol-transfer-with-memo": (1.0, True),
    "007-two-sol-transfers": (1.0, True),
    "008-sol-transfer-insufficient-funds": (0.75, False),
    "009-spl-transfer-missing-signer": (0.75, False),
    "010-token-2022-transfer": (1.0, True),
    "011-flow-sol-then-usdc": (1.0, True),
}

# Upstream's published scores for its deterministic agent.
UPSTREAM_EXPECTED = {
    "001-sol-transfer": (1.0, True),
    "002-spl-transfer": (1.0, True),
    "003-spl-transfer-fail": (0.75, False),
    "004-partial-score-spl-transfer": (0.785714, True),
}


@pytest.fixture
def upstream_benchmarks() -> Path:
    path = UPSTREAM / "benchmarks"
    if not path.is_dir():
        pytest.skip(f"upstream captures not present at {path} (only available in the shared workplace)")
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner honours these; a developer's shell must not redirect test output.
    monkeypatch.delenv("REEV_ENHANCED_OTEL_FILE", raising=False)
    monkeypatch.delenv("REEV_SESSION_LOG_PATH", raising=False)
