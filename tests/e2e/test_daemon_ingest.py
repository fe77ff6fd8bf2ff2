"""The feedback loop end to end: files appear in logs/sessions, state is visible over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import CAPTURES, Daemon, atomic_drop, eventually

pytestmark = pytest.mark.e2e


def session_bytes(execution_id: str, success: bool = True, score: float = 1.0, benchmark: str = "001-sol-transfer") -> bytes:
    return json.dumps({
        "session_id": execution_id, "benchmark_id": benchmark, "agent_type": "deterministic",
        "start_time": 1761795821, "end_time": 1761795822, "events": [],
        "final_result": {"success": success, "score": score, "status": "Succeeded" if success else "Failed",
                         "execution_time_ms": 1000, "data": {"prompt": "p", "steps": []}},
    }, indent=2).encode()


def otel_line(execution_id: str, n: int, event_type: str = "ToolInput") -> bytes:
    return json.dumps({"timestamp": f"2026-11-21T00:00:{n % 60:02d}.000Z", "session_id": execution_id,
                       "reev_runner_version": "0.1.0", "reev_agent_version": "0.1.0", "event_type": event_type,
                       "prompt": None, "tool_input": {"tool_name": f"tool{n}", "tool_args": {}}, "tool_output": None,
                       "timing": {"flow_timeuse_ms": 0, "step_timeuse_ms": 0}, "metadata": {"n": n}}).encode() + b"\n"


def event_offsets(d: Daemon, execution_id: str) -> list[int]:
    status, body = d.get(f"/executions/{execution_id}/events?limit=5000")
    assert status == 200, body
    return [e["offset"] for e in body["events"]]


def test_atomic_rename_becomes_completed(daemon_factory) -> None:
    """A session file renamed into the folder is Completed with its score, no poll involved."""
    d = daemon_factory().start()
    atomic_drop(d.sessions, "session_run-a.json", session_bytes("run-a", score=0.9))
    row = d.wait_status("run-a", {"Completed"})
    assert row["score"] == 0.9 and row["progress"] == 1.0 and row["id"] == "run-a"
    assert row["result_data"]["source"] == "session_file" and row["origin"] == "disk"
    status, body = d.get("/benchmarks/001-sol-transfer/status/run-a")
    assert status == 200 and body["status"] == "Completed"


def test_in_place_chunked_write_ends_in_final_state(daemon_factory) -> None:
    """A session written in place in several chunks ends in its real state, not an ingest error."""
    d = daemon_factory().start()
    data = session_bytes("run-b", success=False, score=0.75)
    path = d.sessions / "session_run-b.json"
    with open(path, "wb") as fh:
        for i in range(0, len(data), 97):
            fh.write(data[i:i + 97])
            fh.flush()
    row = d.wait_status("run-b", {"Completed", "Failed"})
    row = eventually(lambda: (r := d.execution("run-b")) and r["score"] == 0.75 and r, message="final score")
    assert row["status"] == "Failed" and row["error_message"] is None


def test_appends_with_partial_lines_are_ingested_exactly(daemon_factory) -> None:
    """OTEL lines appended in pieces (split mid-line) are ingested once each, in order."""
    d = daemon_factory().start()
    path = d.sessions / "enhanced_otel_run-c.jsonl"
    blob = b"".join(otel_line("run-c", n) for n in range(40))
    expected, pos = [], 0
    for n in range(40):
        expected.append(pos)
        pos += len(otel_line("run-c", n))
    with open(path, "ab") as fh:
        for i in range(0, len(blob), 333):  # 333-byte pieces: most writes end mid-line
            fh.write(blob[i:i + 333])
            fh.flush()
    eventually(lambda: event_offsets(d, "run-c") == expected, message="40 events in order")
    row = d.execution("run-c")
    assert row["status"] == "Running" and row["events_count"] == 40 and row["last_event_type"] == "ToolInput"


def test_kill9_between_file_events_then_restart_is_exactly_once(daemon_factory, tmp_path: Path) -> None:
    """Lines and sessions written around a kill -9 are each ingested exactly once after restart."""
    root = tmp_path / "root"
    d = daemon_factory(root).start()
    otel = d.sessions / "enhanced_otel_run-d.jsonl"
    with open(otel, "ab") as fh:
        for n in range(10):
            fh.write(otel_line("run-d", n))
    eventually(lambda: len(event_offsets(d, "run-d")) == 10, message="first 10 lines")
    d.kill9()
    with open(otel, "ab") as fh:  # written while the daemon is dead, one line left partial
        for n in range(10, 20):
            fh.write(otel_line("run-d", n))
        fh.write(otel_line("run-d", 20)[:25])
    atomic_drop(d.sessions, "session_run-e.json", session_bytes("run-e"))
    d2 = daemon_factory(root, port=d.port).start()
    eventually(lambda: len(event_offsets(d2, "run-d")) == 20, message="20 lines after restart")
    d2.wait_status("run-e", {"Completed"})
    with open(otel, "ab") as fh:
        fh.write(otel_line("run-d", 20)[25:])
    eventually(lambda: len(event_offsets(d2, "run-d")) == 21, message="the completed partial line")
    offsets = event_offsets(d2, "run-d")
    assert offsets == sorted(set(offsets))
    assert d2.execution("run-d")["events_count"] == 21


def _dump(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT execution_id, benchmark_id, agent, status, score, progress, error_message, result_data, events_count FROM executions ORDER BY 1").fetchall()
        rows += conn.execute("SELECT execution_id, offset, event_type, body FROM events ORDER BY 1, 2").fetchall()
        rows += conn.execute("SELECT name, offset, lines, invalid, oversize FROM files ORDER BY 1").fetchall()
    finally:
        conn.close()
    return rows


def test_ingesting_the_same_folder_twice_changes_nothing(daemon_factory, tmp_path: Path) -> None:
    """A restart over an already-ingested folder leaves the database identical."""
    root = tmp_path / "root"
    d = daemon_factory(root).start()
    for i in range(5):
        atomic_drop(d.sessions, f"session_twice-{i}.json", session_bytes(f"twice-{i}", success=i % 2 == 0))
        (d.sessions / f"enhanced_otel_twice-{i}.jsonl").write_bytes(b"".join(otel_line(f"twice-{i}", n) for n in range(3)))
    eventually(lambda: all((r := d.execution(f"twice-{i}")) and r["events_count"] == 3 and r["status"] != "Running" for i in range(5)), message="all ingested")
    assert d.stop() == 0
    db = root / "db" / "reevd.sqlite3"
    before = _dump(db)
    d2 = daemon_factory(root, port=d.port).start()
    assert d2.get("/health")[1]["status"] == "healthy"
    assert d2.stop() == 0
    assert _dump(db) == before


def test_otel_truncation_restarts_from_zero(daemon_factory) -> None:
    """A truncated or replaced OTEL file is re-read from its start, its old events dropped."""
    d = daemon_factory().start()
    path = d.sessions / "enhanced_otel_run-f.jsonl"
    path.write_bytes(b"".join(otel_line("run-f", n) for n in range(5)))
    eventually(lambda: len(event_offsets(d, "run-f")) == 5, message="5 events")
    atomic_drop(d.sessions, "enhanced_otel_run-f.jsonl", otel_line("run-f", 99, "Prompt"))
    eventually(lambda: event_offsets(d, "run-f") == [0], message="replaced file re-read")
    assert d.execution("run-f")["events_count"] == 1


def test_bad_input_is_refused_and_nothing_else_is_lost(daemon_factory, tmp_path: Path) -> None:
    """Hostile files get a refusal or an ingest error each; the daemon stays up and ingests the rest."""
    d = daemon_factory().start()
    s = d.sessions
    outside = tmp_path / "outside.json"
    outside.write_bytes(session_bytes("evil"))
    os.symlink(outside, s / "session_evil.json")
    (s / "session_adir.json").mkdir()
    os.mkfifo(s / "session_fifo.json")
    atomic_drop(s, "session_a b.json", session_bytes("x"))
    atomic_drop(s, "session_trunc.json", session_bytes("trunc")[:40])
    atomic_drop(s, "session_utf.json", b'{"final_result": {"success": true, "x": "\xff"}}')
    atomic_drop(s, "session_deep.json", b"[" * 100000 + b"]" * 100000)
    atomic_drop(s, "session_types.json", b'{"final_result": {"success": "yes"}}')
    atomic_drop(s, "session_nan.json", b'{"final_result": {"success": true, "score": NaN}}')
    big = s / ".big.tmp"
    with open(big, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # 100 MB (sparse)
    os.replace(big, s / "session_big.json")
    with open(s / "enhanced_otel_mixed.jsonl", "wb") as fh:
        fh.write(otel_line("mixed", 0) + b"garbage\n" + b'{"x": ' + b"1" * (2 * 1024 * 1024) + b"}\n" + otel_line("mixed", 1))
    atomic_drop(s, "session_good.json", session_bytes("good"))
    d.wait_status("good", {"Completed"})
    for bad in ("trunc", "utf", "deep", "types", "nan", "big"):
        row = d.wait_status(bad, {"Failed"})
        assert row["error_message"], bad
    assert "too large" in d.execution("big")["error_message"]
    assert "final_result.success" in d.execution("types")["error_message"]
    assert d.execution("evil") is None and d.execution("adir") is None and d.execution("fifo") is None
    eventually(lambda: len(event_offsets(d, "mixed")) == 2, message="2 good lines around the bad ones")
    conn = sqlite3.connect(d.root / "db" / "reevd.sqlite3")
    invalid, oversize = conn.execute("SELECT invalid, oversize FROM files WHERE name = 'enhanced_otel_mixed.jsonl'").fetchone()
    conn.close()
    assert (invalid, oversize) == (1, 1)
    assert d.get("/health")[1]["status"] == "healthy"
    status, body = d.get("/executions/..%2F..%2Fetc")
    assert status in (400, 404) and set(body) == {"error", "message"}


def test_upstream_captures_are_ingested(daemon_factory) -> None:
    """Upstream reev's real session and OTEL files are ingested with their states and events."""
    sessions = CAPTURES / "sessions"
    if not sessions.is_dir():
        pytest.skip(f"upstream captures not present at {sessions}")
    d = daemon_factory()
    d.sessions.mkdir(parents=True)
    for f in sessions.iterdir():
        shutil.copy(f, d.sessions / f.name)  # present before start: found by the startup scan
    d.start()
    row = d.wait_status("057d2e4a-f687-469f-8885-ad57759817c0", {"Completed"})
    assert row["benchmark_id"] == "001-sol-transfer" and row["agent"] == "glm-4.6" and row["score"] == 1.0
    eventually(lambda: len(event_offsets(d, "057d2e4a-f687-469f-8885-ad57759817c0")) == 3, message="3 events")
    orphan = eventually(lambda: d.execution("93aebfa7-cf08-4793-bc0e-7a8ef4cdddaa"), message="otel-only run")
    assert orphan["status"] == "Running"  # a run whose session never appeared: no invented ending
    eventually(lambda: len(event_offsets(d, "974b44e5-8346-47ed-9da7-916f0836696f")) == 14, message="14 events")


def test_sigterm_exits_quickly(daemon_factory) -> None:
    """SIGTERM stops the observer, drains the writer and exits 0 within 2 s."""
    import time

    d = daemon_factory().start()
    t0 = time.monotonic()
    code = d.stop(signal.SIGTERM)
    assert code == 0 and time.monotonic() - t0 < 2.0


def test_terminal_status_is_never_visible_before_the_runs_events(daemon_factory) -> None:
    """When a run first shows a terminal status, every OTEL line written before its session is stored.

    Streams and `reevd tail` close on the terminal status, so they rely on this order.
    """
    d = daemon_factory().start()
    for attempt in range(3):
        eid = f"order-{attempt}"
        with open(d.sessions / f"enhanced_otel_{eid}.jsonl", "wb") as fh:
            fh.write(b"".join(otel_line(eid, n) for n in range(20000)))
        atomic_drop(d.sessions, f"session_{eid}.json", session_bytes(eid))
        row = d.wait_status(eid, {"Completed"})
        assert row["events_count"] == 20000, row["events_count"]


def test_invalid_session_moved_in_from_elsewhere_is_settled(daemon_factory, tmp_path: Path) -> None:
    """A broken session renamed in from another folder (only a 'created' event) still gets its ingest error."""
    d = daemon_factory().start()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(b'{"final_result": ')
    os.replace(elsewhere, d.sessions / "session_moved-in.json")
    row = d.wait_status("moved-in", {"Failed"}, timeout=20)
    assert "invalid session file" in row["error_message"]


def test_broken_sessions_written_in_place_are_settled_without_a_close_event(daemon_factory) -> None:
    """Sessions written in place that stay broken or too large get their ingest error from the settle timer."""
    d = daemon_factory().start()
    with open(d.sessions / "session_inplace-trunc.json", "wb") as fh:
        fh.write(session_bytes("inplace-trunc")[:40])
    with open(d.sessions / "session_inplace-big.json", "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # 100 MB (sparse), past the 16 MiB limit
    row = d.wait_status("inplace-trunc", {"Failed"}, timeout=20)
    assert "invalid session file" in row["error_message"]
    row = d.wait_status("inplace-big", {"Failed"}, timeout=20)
    assert "too large" in row["error_message"]
