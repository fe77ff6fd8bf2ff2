"""An eval killed -9 while it is being created: its row and its runs exist together or not at all."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.e2e.test_daemon_launch import make_root
from tests.helpers import eventually, http, write_stub_runner

pytestmark = pytest.mark.e2e


def _eval_rows(db: Path) -> list[tuple[str, int, int]]:
    """(eval_id, runs it promises, runs that exist) for every committed eval."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(
            "SELECT eval_id, runs, (SELECT COUNT(*) FROM executions WHERE json_extract(metadata, '$.eval_id') = eval_id) "
            "FROM evals").fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        conn.close()


def test_eval_killed_while_created_owes_every_run_it_promises(daemon_factory, tmp_path: Path) -> None:
    """kill -9 as soon as an eval of 1,100 runs is visible: every committed eval has all of its runs queued."""
    root = make_root(tmp_path)
    stub = write_stub_runner(tmp_path / "stub.py", "sys.exit(0)\n")
    d = daemon_factory(root, extra_args=["--runner-cmd", " ".join(stub), "--max-concurrency", "1"]).start()
    db = root / "db" / "reevd.sqlite3"

    def post() -> None:
        try:
            http("POST", f"{d.api}/evals", {"agents": ["deterministic"], "benchmarks": "all", "epochs": 100}, timeout=60)
        except OSError:
            pass  # the daemon is killed under the request: no answer is expected

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    rows = eventually(lambda: _eval_rows(db), 30, "the eval row committed")
    d.kill9()
    poster.join(60)
    rows = _eval_rows(db)
    assert rows and all(promised == existing for _id, promised, existing in rows), rows


def test_eval_runs_start_exactly_once_across_a_kill_and_restart(daemon_factory, tmp_path: Path) -> None:
    """kill -9 while an eval's runs are under way: after a restart the eval completes and each run started once."""
    from collections import Counter

    from tests.e2e.test_daemon_launch import stub_daemon

    d = stub_daemon(daemon_factory, tmp_path, "finish", "--max-concurrency", "1").start()
    status, started = d.post("/evals", {"agents": ["deterministic"], "benchmarks": ["001-sol-transfer", "002-spl-transfer"],
                                        "epochs": 10})
    assert status == 202, started
    starts = d.root / "intervals.log"
    eventually(lambda: starts.exists() and starts.read_text().count("start ") >= 3, 30, "three runs started")
    d.kill9()
    d.start()

    def completed() -> dict | None:
        code, body = d.get(f"/evals/{started['eval_id']}")
        return body if code == 200 and body["status"] == "completed" else None

    final = eventually(completed, 60, "the eval completed after the restart")
    assert final["finished"] == 20
    counts = Counter(line.split()[2] for line in starts.read_text().splitlines() if line.startswith("start "))
    assert set(counts) == set(started["execution_ids"]) and set(counts.values()) == {1}, counts
