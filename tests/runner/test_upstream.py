"""Upstream reev's own 13 benchmark files: all load, 001-004 score as upstream, the rest are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.agents import get_agent
from runner.benchmark import load_benchmark_file
from runner.run import run_benchmark
from tests.runner.conftest import UPSTREAM_EXPECTED


def test_all_upstream_files_load(upstream_benchmarks: Path) -> None:
    """The 13 files load; only 001-004 are runnable, the others name the mainnet reason."""
    files = sorted(upstream_benchmarks.glob("*.yml"))
    assert len(files) == 13
    for f in files:
        b = load_benchmark_file(f)
        reason = b.mainnet_reason()
        if b.id in UPSTREAM_EXPECTED:
            assert reason is None, b.id
        else:
            assert reason is not None and "needs mainnet state" in reason and "Jupiter" in reason, b.id


@pytest.mark.parametrize("bench_id", sorted(UPSTREAM_EXPECTED))
def test_upstream_scores_with_deterministic_agent(upstream_benchmarks: Path, tmp_path: Path, bench_id: str) -> None:
    """Scores match upstream's published figures: 1.0, 1.0, 0.75, 0.785714."""
    bench = load_benchmark_file(upstream_benchmarks / f"{bench_id}.yml")
    result = run_benchmark(bench, get_agent("deterministic"), f"up-{bench_id}", tmp_path)
    score, success = UPSTREAM_EXPECTED[bench_id]
    assert result.score == pytest.approx(score, abs=1e-6)
    assert result.success is success and result.error is None
    assert all(a["passed"] for a in result.assertions), result.assertions
