"""Live events end to end: SSE order, resume without gaps or duplicates, shutdown with open streams."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reevd.client import sse_events
from tests.e2e.ops_stub import StubRuns, stub_runs
from tests.helpers import eventually, http

pytestmark = pytest.mark.e2e

READ_TIMEOUT_S = 15


@pytest.fixture
def runs(daemon_factory: Any, tmp_path: Path) -> Iterator[StubRuns]:
    yield from stub_runs(daemon_factory, tmp_path)


def _stream_url(runs: StubRuns, execution_id: str) -> str:
    return f"{runs.daemon.api}/executions/{execution_id}/stream"


def _open_streams(runs: StubRuns) -> int:
    status, text, _ = http("GET", f"{runs.daemon.url}/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        if family.name == "reevd_streams_open":
            return int(family.samples[0].value)
    raise AssertionError("reevd_streams_open missing")


def _take_otel(stream: Iterator[tuple[str, str | None, str]], count: int) -> list[tuple[int, dict[str, Any]]]:
    out = []
    while len(out) < count:
        event, ident, data = next(stream)
        assert event == "otel", (event, data)
        assert ident is not None
        payload = json.loads(data)
        assert payload["offset"] == int(ident)
        out.append((int(ident), payload["event"]))
    return out


def test_run_events_arrive_live_in_order_and_end_with_status(runs: StubRuns) -> None:
    """Each batch the runner writes reaches an open stream before the next is written, in file order, then a final status."""
    execution_id = runs.start_run()
    stream = sse_events(_stream_url(runs, execution_id), timeout=READ_TIMEOUT_S)
    received = []
    for step, batch in enumerate(runs.batches):
        if step:
            runs.release(step)
        received += _take_otel(stream, len(batch))  # arrives while the stub waits on the next gate
    runs.release(len(runs.batches))
    event, _ident, data = next(stream)
    assert event == "status"
    assert json.loads(data)["status"] == "Completed"
    assert list(stream) == []  # the server closes after the status
    assert received == runs.otel_lines(execution_id)
    assert [e["metadata"]["seq"] for _, e in received] == list(range(sum(map(len, runs.batches))))


def test_reconnect_with_last_event_id_has_no_gap_and_no_duplicate(runs: StubRuns) -> None:
    """A client that drops mid-run and reconnects with Last-Event-ID gets exactly the events it missed, then the rest."""
    execution_id = runs.start_run()
    first = sse_events(_stream_url(runs, execution_id), timeout=READ_TIMEOUT_S)
    seen = _take_otel(first, 2)  # part of batch 0, then disconnect
    first.close()
    runs.release(1)  # batch 1 is written while nobody listens
    runs.wait_events(execution_id, len(runs.batches[0]) + len(runs.batches[1]))
    second = sse_events(_stream_url(runs, execution_id), last_event_id=str(seen[-1][0]), timeout=READ_TIMEOUT_S)
    seen += _take_otel(second, len(runs.batches[0]) - 2 + len(runs.batches[1]))
    runs.release(2)
    runs.release(3)
    tail = list(second)
    assert tail[-1][0] == "status"
    seen += [(int(i), json.loads(d)["event"]) for e, i, d in tail[:-1] if e == "otel" and i is not None]
    offsets = [offset for offset, _ in seen]
    assert offsets == sorted(set(offsets)), "duplicates or disorder"
    assert seen == runs.otel_lines(execution_id)


def test_resume_point_past_the_end_replays_nothing(runs: StubRuns) -> None:
    """Reconnecting after the last event of a finished run yields only the final status."""
    execution_id = runs.start_run()
    runs.finish()
    runs.daemon.wait_status(execution_id, {"Completed"})
    last_offset = runs.otel_lines(execution_id)[-1][0]
    events = list(sse_events(_stream_url(runs, execution_id), last_event_id=str(last_offset), timeout=READ_TIMEOUT_S))
    assert [e for e, _, _ in events] == ["status"]


def test_sigterm_with_open_streams_exits_within_two_seconds(runs: StubRuns) -> None:
    """SIGTERM with a run stream and the global feed open ends both streams and exits in under 2 s."""
    execution_id = runs.start_run()
    run_stream = sse_events(_stream_url(runs, execution_id), timeout=READ_TIMEOUT_S)
    _take_otel(run_stream, 1)  # connected and subscribed
    feed_done = threading.Event()
    feed_errors: list[BaseException] = []

    def follow_feed() -> None:
        try:
            for _ in sse_events(f"{runs.daemon.api}/stream", timeout=READ_TIMEOUT_S):
                pass
        except BaseException as exc:  # reported by the assertion below
            feed_errors.append(exc)
        feed_done.set()

    feeder = threading.Thread(target=follow_feed, daemon=True)
    feeder.start()
    eventually(lambda: _open_streams(runs) == 2, 10, "both streams connected")
    proc = runs.daemon.proc
    assert proc is not None
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        returncode = proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        pytest.fail("daemon still running 2 s after SIGTERM with open streams")
    elapsed = time.monotonic() - started
    assert returncode == 0
    assert elapsed < 2.0
    rest = list(run_stream)  # the server ended the stream cleanly
    assert all(event == "otel" for event, _, _ in rest)
    assert feed_done.wait(READ_TIMEOUT_S)
    assert feed_errors == []
