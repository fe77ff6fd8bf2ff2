"""Metrics: the cached executions-by-status gauge and the text exposition."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from reevd.metrics import ExecutionCounts, Metrics


async def test_counts_refresh_after_commits_coalesced() -> None:
    """A burst of commits costs one read in flight plus one more, and ends with the latest counts."""
    reads = 0
    gate = asyncio.Event()
    current = {"Running": 1}

    async def read() -> dict[str, int]:
        nonlocal reads
        reads += 1
        await gate.wait()
        return dict(current)

    counts = ExecutionCounts()
    changes: list[dict[str, int]] = []
    counts.add_listener(changes.append)
    counts.bind(read)
    for _ in range(50):
        counts.on_commit((), 0.0)
        await asyncio.sleep(0)  # let the first re-read start: later commits find it in flight
    current = {"Completed": 1}
    gate.set()
    await counts.idle()
    assert reads == 2
    assert counts.value == {"Completed": 1}
    assert changes[-1] == {"Completed": 1}


async def test_no_refresh_after_close() -> None:
    """Commits during shutdown (the store draining) do not read a closing store."""
    counts = ExecutionCounts()

    async def read() -> dict[str, int]:
        raise AssertionError("read after close")

    counts.bind(read)
    await counts.close()
    counts.on_commit((), 0.0)
    assert counts.value == {}


def test_exposition_parses_with_live_values() -> None:
    """The registry renders to text that prometheus-client's parser reads back, live gauges included."""
    metrics = Metrics()
    metrics.executions.value = {"Completed": 3, "Failed": 1}
    metrics.live.in_flight = lambda: 2
    metrics.lines_ingested.inc(7)
    metrics.observe_batch([object()] * 4, 0.003)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    by_status = {s.labels["status"]: s.value for s in families["reevd_executions"].samples}
    assert by_status == {"Completed": 3, "Failed": 1}
    assert families["reevd_runs_in_flight"].samples[0].value == 2
    assert families["reevd_ingest_lines"].samples[0].value == 7
    batch = {s.name: s.value for s in families["reevd_db_batch_ops"].samples}
    assert batch["reevd_db_batch_ops_count"] == 1 and batch["reevd_db_batch_ops_sum"] == 4
    assert "process_resident_memory_bytes" in families


async def test_commits_without_pause_cost_one_read_per_interval_and_end_current() -> None:
    """A stream of commits (a burst) re-reads the counts at most once per MIN_INTERVAL_S, and the last read sees the last commit."""
    reads = 0
    current = {"Running": 0}

    async def read() -> dict[str, int]:
        nonlocal reads
        reads += 1
        return dict(current)

    counts = ExecutionCounts()
    counts.bind(read)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 0.6:
        current = {"Running": current["Running"] + 1}
        counts.on_commit((), 0.0)
        await asyncio.sleep(0.001)  # the test's own pacing of commits, not a wait for a result
    await counts.idle()
    assert reads <= 0.6 / ExecutionCounts.MIN_INTERVAL_S + 2, reads
    assert counts.value == current
