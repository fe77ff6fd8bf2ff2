"""GET /metrics on a real daemon after real ingestion, read back with prometheus-client's parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.ops_stub import StubRuns, stub_runs
from tests.helpers import FIXTURES, Daemon, atomic_drop, eventually, http

pytestmark = pytest.mark.e2e

REQUIRED = {
    "reevd_executions", "reevd_runs_in_flight", "reevd_runs_queued", "reevd_db_write_backlog",
    "reevd_ingest_files", "reevd_ingest_lines", "reevd_ingest_invalid_lines", "reevd_ingest_oversize_lines",
    "reevd_watcher_overflow_rescans", "reevd_feedback_latency_seconds", "reevd_db_batch_ops",
    "reevd_db_batch_seconds", "reevd_streams_open",
}


def _scrape(daemon: Daemon) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    status, text, headers = http("GET", f"{daemon.url}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")  # the exposition format
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return out


def _value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    return float(families[family].get((sample, tuple(sorted(labels.items()))), 0.0))


def test_metrics_parse_and_count_ingestion(daemon_factory: Any) -> None:
    """After two sessions, their OTEL files and one invalid line, every required family is there with matching values."""
    daemon = daemon_factory().start()
    families = _scrape(daemon)
    assert REQUIRED <= families.keys()
    assert families["reevd_executions"] == {}
    assert _value(families, "reevd_runs_in_flight", "reevd_runs_in_flight") == 0

    sources = sorted((FIXTURES / "sessions").glob("*fixture-00[13]*"))
    otel_lines = 0
    for path in sources:
        data = path.read_bytes()
        if path.name.startswith("enhanced_otel_"):
            data += b"{not json\n"
            otel_lines += data.count(b"\n")
        atomic_drop(daemon.sessions, path.name, data)

    def settled() -> dict[str, Any] | None:
        f = _scrape(daemon)
        # The executions gauge is re-read after commits, so it may trail the session counter:
        # wait for the settled statuses themselves, not just for two rows.
        statuses = {dict(labels)["status"]: v for (_, labels), v in f["reevd_executions"].items()}
        done = statuses == {"Completed": 1, "Failed": 1} and _value(f, "reevd_ingest_files", "reevd_ingest_files_total", kind="session") == 2
        return f if done and _value(f, "reevd_ingest_invalid_lines", "reevd_ingest_invalid_lines_total") == 2 else None

    families = eventually(settled, 15, "both sessions counted")
    statuses = {dict(labels)["status"]: v for (_, labels), v in families["reevd_executions"].items()}
    assert statuses == {"Completed": 1, "Failed": 1}
    assert _value(families, "reevd_ingest_lines", "reevd_ingest_lines_total") == otel_lines - 2
    assert _value(families, "reevd_feedback_latency_seconds", "reevd_feedback_latency_seconds_count") >= 2
    assert 0 < _value(families, "reevd_feedback_latency_seconds", "reevd_feedback_latency_seconds_sum") < 10
    batches = _value(families, "reevd_db_batch_ops", "reevd_db_batch_ops_count")
    assert batches >= 1
    assert _value(families, "reevd_db_batch_ops", "reevd_db_batch_ops_sum") >= batches
    assert _value(families, "reevd_db_batch_seconds", "reevd_db_batch_seconds_count") == batches
    assert _value(families, "reevd_db_write_backlog", "reevd_db_write_backlog") == 0
    assert _value(families, "reevd_watcher_overflow_rescans", "reevd_watcher_overflow_rescans_total") == 0


def test_metrics_is_at_the_root_not_under_the_api(daemon_factory: Any) -> None:
    """Prometheus scrapes /metrics; the API prefix does not serve it."""
    daemon = daemon_factory().start()
    assert http("GET", f"{daemon.url}/metrics")[0] == 200
    assert http("GET", f"{daemon.api}/metrics")[0] == 404


@pytest.fixture
def runs(daemon_factory: Any, tmp_path: Path) -> Iterator[StubRuns]:
    yield from stub_runs(daemon_factory, tmp_path)


def test_metrics_count_launched_runs(runs: StubRuns) -> None:
    """A run launched through the API shows in runs in flight, runs started and, once finished, executions by status."""
    execution_id = runs.start_run()
    eventually(lambda: _value(_scrape(runs.daemon), "reevd_runs_in_flight", "reevd_runs_in_flight") == 1, 10, "one run in flight")
    runs.finish()
    runs.daemon.wait_status(execution_id, {"Completed"})

    def finished() -> dict[str, Any] | None:
        f = _scrape(runs.daemon)
        ok = _value(f, "reevd_executions", "reevd_executions", status="Completed") == 1
        return f if ok and _value(f, "reevd_runs_in_flight", "reevd_runs_in_flight") == 0 else None

    families = eventually(finished, 10, "run counted as Completed")
    assert _value(families, "reevd_runs_started", "reevd_runs_started_total") == 1
