"""Prometheus metrics, on a registry per app (no global state between tests or apps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = structlog.get_logger("reevd")

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _LiveGauges(Collector):
    """Gauges computed at scrape time from the daemon's own state (nothing to keep in sync)."""

    def __init__(self) -> None:
        self.status_counts: Callable[[], dict[str, int]] = dict
        self.in_flight: Callable[[], int] = lambda: 0
        self.queued: Callable[[], int] = lambda: 0
        self.writer_backlog: Callable[[], int] = lambda: 0
        self.streams: Callable[[], int] = lambda: 0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("reevd_executions", "Executions by status", labels=["status"])
        for status, count in sorted(self.status_counts().items()):
            by_status.add_metric([status], count)
        yield by_status
        yield GaugeMetricFamily("reevd_runs_in_flight", "Runner processes alive", value=self.in_flight())
        yield GaugeMetricFamily("reevd_runs_queued", "Runs waiting for a slot", value=self.queued())
        yield GaugeMetricFamily("reevd_db_write_backlog", "Write ops queued for the writer", value=self.writer_backlog())
        yield GaugeMetricFamily("reevd_streams_open", "Server-Sent Event streams connected", value=self.streams())


class ExecutionCounts:
    """Executions by status, cached: re-read after writer commits, never polled.

    Commits while a re-read is in flight coalesce into one more, started no sooner than
    MIN_INTERVAL_S after the last began (a timer): under a burst of 40,000 files the re-reads
    otherwise ran back to back on the reader thread, a GROUP BY over every execution each time,
    taking a core's share from the writer and the loop (perf/limits_perf.py item 4).
    """

    MIN_INTERVAL_S = 0.25

    def __init__(self) -> None:
        self.value: dict[str, int] = {}
        self._read: Callable[[], Awaitable[dict[str, int]]] | None = None
        self._listeners: list[Callable[[dict[str, int]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False
        self._began = -self.MIN_INTERVAL_S  # loop time the last re-read began
        self._quiet = asyncio.Event()  # no re-read in flight or owed
        self._quiet.set()

    def bind(self, read: Callable[[], Awaitable[dict[str, int]]]) -> None:
        self._read = read

    def add_listener(self, listener: Callable[[dict[str, int]], None]) -> None:
        """Called with the new counts whenever they change."""
        self._listeners.append(listener)

    async def refresh(self) -> None:
        if self._read is None:
            return
        counts = await self._read()
        if counts != self.value:
            self.value = counts
            for listener in self._listeners:
                try:
                    listener(counts)
                except Exception as exc:  # best-effort notifications
                    log.error("counts_listener_failed", error=repr(exc))

    def on_commit(self, _ops: object, _seconds: float) -> None:
        """A writer commit listener: owe a re-read (any op may create or settle an execution)."""
        if self._read is None:
            return
        self._dirty = True
        self._quiet.clear()
        if self._timer is None and (self._task is None or self._task.done()):
            self._start_in_turn()

    def _start_in_turn(self) -> None:
        """Now, or when MIN_INTERVAL_S has passed since the last re-read began."""
        loop = asyncio.get_running_loop()
        wait = self._began + self.MIN_INTERVAL_S - loop.time()
        if wait > 0:
            self._timer = loop.call_later(wait, self._start)
        else:
            self._start()

    def _start(self) -> None:
        self._timer = None
        if self._read is None or not self._dirty:
            self._quiet.set()
            return
        self._dirty = False
        loop = asyncio.get_running_loop()
        self._began = loop.time()
        self._task = loop.create_task(self._refresh_once(), name="reevd-status-counts")

    async def _refresh_once(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # a failed read leaves the last counts; the next commit retries
            log.warning("status_counts_failed", error=repr(exc))
        if self._dirty and self._read is not None:  # commits came meanwhile: one more, in turn
            self._start_in_turn()
        else:
            self._quiet.set()

    async def idle(self) -> None:
        """Until no re-read is in flight or owed (tests)."""
        await self._quiet.wait()

    async def close(self) -> None:
        """Stop re-reading (before the store closes)."""
        self._read = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._quiet.set()
        if self._task is not None:
            await self._task
            self._task = None


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
        self.executions = ExecutionCounts()
        self.live.status_counts = lambda: self.executions.value
        ProcessCollector(registry=r)  # process_resident_memory_bytes, open fds, CPU seconds

    def observe_batch(self, ops: object, seconds: float) -> None:
        self.db_batch_ops.observe(len(ops))  # type: ignore[arg-type]
        self.db_batch_seconds.observe(seconds)
