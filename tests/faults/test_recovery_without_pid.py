"""Behaviour 4: a run whose pid was never recorded is judged by what really happened, never guessed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_daemon_ingest import session_bytes
from tests.e2e.test_daemon_launch import make_root
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

NOW = "2026-11-21T00:00:00.000Z"


def _spawned_but_unrecorded(root: Path, execution_id: str) -> None:
    """The state a daemon killed mid-spawn leaves: an api row still Queued, no pid, its run log created."""
    db = sqlite3.connect(root / "db" / "reevd.sqlite3")
    db.execute("INSERT INTO executions (execution_id, benchmark_id, agent, status, origin, created_at, updated_at, "
               "progress, timeout_s, metadata) VALUES (?, '001-sol-transfer', 'deterministic', 'Queued', 'api', ?, ?, 0, 60, '{}')",
               (execution_id, NOW, NOW))
    db.commit()
    db.close()
    (root / "logs" / "runs").mkdir(parents=True, exist_ok=True)
    (root / "logs" / "runs" / f"{execution_id}.log").write_bytes(b"")


def test_unrecorded_spawn_is_recovered_from_the_facts(daemon_factory, tmp_path: Path) -> None:
    """Session present -> its result; runner alive (spawned, or forked with its log as stdout) -> re-attached;
    nothing -> started again and Completed."""
    root = make_root(tmp_path)
    # Two re-attached runners hold CPU slots until killed: leave one for the run started again.
    d = daemon_factory(root, extra_args=["--max-concurrency", "3"]).start()
    d.stop()
    for eid in ("had-session", "still-running", "still-forked", "never-ran"):
        _spawned_but_unrecorded(root, eid)
    (root / "logs" / "sessions" / "session_had-session.json").write_bytes(session_bytes("had-session", score=0.9))
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--execution-id=still-running"],
                             start_new_session=True)
    # A forked runner's argv is the fork server's; what names its run is its stdout, the run log.
    with open(root / "logs" / "runs" / "still-forked.log", "ab") as log_file:
        forked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=log_file,
                                  start_new_session=True)
    try:
        d.start()
        row = d.wait_status("had-session", {"Completed", "Failed"})
        assert row["status"] == "Completed" and row["score"] == 0.9
        row = d.wait_status("never-ran", {"Completed", "Failed"}, timeout=30)
        assert row["status"] == "Completed", row
        eventually(lambda: "run_reattached" in d.log_path.read_text(), 10, "the live runner re-attached")
        assert d.execution("still-running")["status"] == "Running"
        eventually(lambda: d.log_path.read_text().count("run_reattached") >= 2, 10, "the forked runner re-attached")
        assert d.execution("still-forked")["status"] == "Running"
        alive.kill()
        row = d.wait_status("still-running", {"Failed"}, timeout=15)
        assert "fate is unknown" not in (row["error_message"] or "")
    finally:
        for proc in (alive, forked):
            proc.kill()
            proc.wait()
