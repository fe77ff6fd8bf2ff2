"""Prometheus metrics, on a registry per app (no global state between tests or apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _LiveGauges(Collector):
    """Gauges computed at scrape time from the daemon's own state (nothing to keep in sync)."""

    def __init__(self) -> None:
        self.status_counts: Callable[[], dict[str, int]] = dict
        self.in_flight: Callable[[], int] = lambda: 0
        self.queued: Callable[[], int] = lambda: 0
        self.writer_backlog: Callable[[], int] = lambda: 0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("reevd_executions", "Executions by status", labels=["status"])
        for status, count in sorted(self.status_counts().items()):
            by_status.add_metric([status], count)
        yield by_status
        yield GaugeMetricFamily("reevd_runs_in_flight", "Runner processes alive", value=self.in_flight())
        yield GaugeMetricFamily("reevd_runs_queued", "Runs waiting for a slot", value=self.queued())
        yield GaugeMetricFamily("reevd_db_write_backlog", "Write ops queued for the writer", value=self.writer_backlog())


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.files_ingested = Counter("reevd_ingest_files", "Files ingested", ["kind"], registry=r)
        self.lines_ingested = Counter("reevd_ingest_lines", "OTEL lines ingested", registry=r)
        self.lines_invalid = Counter("reevd_ingest_invalid_lines", "OTEL lines skipped as invalid", registry=r)
        self.lines_oversize = Counter("reevd_ingest_oversize_lines", "OTEL lines skipped as over the size bound", registry=r)
        self.files_rejected = Counter("reevd_ingest_rejected_files", "Files refused", ["reason"], registry=r)
        self.overflow_rescans = Counter("reevd_watcher_overflow_rescans", "Rescans after inotify queue overflow", registry=r)
        self.feedback_latency = Histogram(
            "reevd_feedback_latency_seconds", "File event to state committed", buckets=LATENCY_BUCKETS, registry=r
        )
        self.db_batch_ops = Histogram(
            "reevd_db_batch_ops", "Write ops per committed batch",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000), registry=r,
        )
        self.db_batch_seconds = Histogram(
            "reevd_db_batch_seconds", "Duration of one write transaction", buckets=LATENCY_BUCKETS, registry=r
        )
        self.runs_started = Counter("reevd_runs_started", "Runner processes spawned", registry=r)
        self.live = _LiveGauges()
        r.register(self.live)

    def observe_batch(self, ops: object, seconds: float) -> None:
        self.db_batch_ops.observe(len(ops))  # type: ignore[arg-type]
        self.db_batch_seconds.observe(seconds)
