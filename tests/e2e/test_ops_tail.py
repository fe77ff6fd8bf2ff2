"""`reevd tail` and `reevd status` as subprocesses against a live daemon and a live run."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.ops_stub import StubRuns, stub_runs
from tests.helpers import REPO, eventually, free_port, http

pytestmark = pytest.mark.e2e

LINE_TIMEOUT_S = 15


class Lines:
    """A subprocess's stdout, read line by line with a deadline per line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def take(self, count: int) -> list[str]:
        out = []
        for _ in range(count):
            line = self._q.get(timeout=LINE_TIMEOUT_S)
            assert line is not None, f"stdout closed after {out}"
            out.append(line)
        return out

    def rest(self) -> list[str]:
        out = []
        while (line := self._q.get(timeout=LINE_TIMEOUT_S)) is not None:
            out.append(line)
        return out


_started: list[subprocess.Popen[str]] = []


def _reevd(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "reevd", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _started.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _reap_clients() -> Iterator[None]:
    """Every client subprocess is ended and its pipes closed, whatever the test did."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait(LINE_TIMEOUT_S)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _open_streams(runs: StubRuns) -> int:
    _, text, _ = http("GET", f"{runs.daemon.url}/metrics")
    family = next(f for f in text_string_to_metric_families(text) if f.name == "reevd_streams_open")
    return int(family.samples[0].value)


@pytest.fixture
def runs(daemon_factory: Any, tmp_path: Path) -> Iterator[StubRuns]:
    yield from stub_runs(daemon_factory, tmp_path)


@pytest.fixture
def failing_runs(daemon_factory: Any, tmp_path: Path) -> Iterator[StubRuns]:
    yield from stub_runs(daemon_factory, tmp_path, success=False)


def test_tail_prints_each_event_live_and_exits_zero_on_completed(runs: StubRuns) -> None:
    """`reevd tail ID` prints one line per event as the runner writes it, a final line, and exits 0 for Completed."""
    execution_id = runs.start_run()
    proc = _reevd("tail", execution_id, "--url", runs.daemon.url)
    out = Lines(proc)
    printed = []
    for step, batch in enumerate(runs.batches):
        if step:
            runs.release(step)
        lines = out.take(len(batch))  # printed while the runner waits for the next gate
        assert [line.split()[1] for line in lines] == batch  # time, then the event type
        printed += lines
    tool_calls = [line for line in printed if "ToolInput" in line]
    assert tool_calls and all("sol_transfer" in line for line in tool_calls)
    assert any("ToolOutput" in line and line.rstrip().endswith("ok") for line in printed)
    runs.release(len(runs.batches))
    assert out.rest() == ["-- Completed score=1.0"]
    assert proc.wait(LINE_TIMEOUT_S) == 0


def test_tail_json_prints_the_raw_events_and_exits_one_on_failed(failing_runs: StubRuns) -> None:
    """`reevd tail ID --json` prints every OTEL event as a JSON line equal to the file's, exiting 1 when the run failed."""
    runs = failing_runs
    execution_id = runs.start_run()
    proc = _reevd("tail", execution_id, "--json", "--url", runs.daemon.url)
    out = Lines(proc)
    first = out.take(len(runs.batches[0]))
    runs.finish()
    printed = first + out.rest()
    assert [json.loads(line) for line in printed] == [event for _, event in runs.otel_lines(execution_id)]
    assert proc.wait(LINE_TIMEOUT_S) == 1


def test_tail_all_follows_status_changes(runs: StubRuns) -> None:
    """`reevd tail --all` prints a line for each status change of any run."""
    proc = _reevd("tail", "--all", "--url", runs.daemon.url)
    out = Lines(proc)
    eventually(lambda: _open_streams(runs) == 1, 10, "tail --all connected")
    execution_id = runs.start_run()
    assert execution_id in out.take(1)[0]
    runs.finish()
    for _ in range(20):
        line = out.take(1)[0]
        if "Completed" in line:
            assert execution_id in line
            break
    else:
        pytest.fail("no Completed line")


def test_tail_unknown_execution_exits_one_with_message(runs: StubRuns) -> None:
    """Tailing an id the daemon does not know exits 1 and says why on stderr."""
    proc = _reevd("tail", "no-such-run", "--url", runs.daemon.url)
    _, err = proc.communicate(timeout=LINE_TIMEOUT_S)
    assert proc.returncode == 1
    assert "404" in err


def test_status_lists_recent_runs(runs: StubRuns) -> None:
    """`reevd status` prints a table with the finished run's id and status."""
    execution_id = runs.start_run()
    runs.finish()
    runs.daemon.wait_status(execution_id, {"Completed"})
    proc = _reevd("status", "--url", runs.daemon.url)
    out, _ = proc.communicate(timeout=LINE_TIMEOUT_S)
    assert proc.returncode == 0
    row = next(line for line in out.splitlines() if line.startswith(execution_id))
    assert "Completed" in row and "ops-stub" in row


def test_tail_resumes_across_a_daemon_restart(runs: StubRuns) -> None:
    """A daemon restart mid-run neither stops the run nor makes `reevd tail` skip or repeat an event."""
    execution_id = runs.start_run()
    proc = _reevd("tail", execution_id, "--json", "--url", runs.daemon.url)
    out = Lines(proc)
    printed = out.take(len(runs.batches[0]))
    assert runs.daemon.stop() == 0  # the run outlives the daemon (runs are in their own process groups)
    runs.release(1)  # written while no daemon is up
    runs.daemon.start()  # same root and port: re-attaches to the run, ingests what it missed
    printed += out.take(len(runs.batches[1]))
    runs.release(2)
    runs.release(3)
    printed += out.rest()
    assert [json.loads(line) for line in printed] == [event for _, event in runs.otel_lines(execution_id)]
    assert proc.wait(LINE_TIMEOUT_S) == 0


def test_tail_without_a_daemon_fails_at_once() -> None:
    """With nothing listening, `reevd tail` reports the unreachable daemon and exits 1 instead of retrying."""
    proc = _reevd("tail", "some-run", "--url", f"http://127.0.0.1:{free_port()}")
    _, err = proc.communicate(timeout=LINE_TIMEOUT_S)
    assert proc.returncode == 1
    assert "cannot reach the daemon" in err
