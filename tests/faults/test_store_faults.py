"""Behaviour 6: store faults are visible on /health and heal without a restart; an unwritable
database is a clear startup error. Uses a small tmpfs when the test may mount one."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_daemon_ingest import session_bytes
from tests.helpers import Daemon, eventually, http

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (root and mount(2) needed); skipped with the reason when it cannot be mounted."""
    mnt = tmp_path / f"mnt-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _health(d: Daemon) -> tuple[int, dict]:
    status, body, _ = http("GET", f"{d.api}/health")
    return status, body


def test_disk_full_is_degraded_then_heals(daemon_factory, small_disk: Path) -> None:
    """With the database's disk full, /health says degraded with the reason; once space returns, every
    file dropped meanwhile is ingested with no restart."""
    d = daemon_factory(extra_args=["--db", str(small_disk / "reevd.sqlite3")]).start()
    filler = _fill(small_disk)
    ids = [f"full-{i}" for i in range(300)]
    for eid in ids:
        (d.sessions / f"session_{eid}.json").write_bytes(session_bytes(eid))
    status, body = eventually(lambda: (lambda h: h if h[0] == 503 else None)(_health(d)), 20, "health degraded")
    assert body["status"] == "degraded" and any("SQLITE_FULL" in r or "full" in r for r in body["reasons"]), body
    status, payload = d.post("/benchmarks/001-sol-transfer/run", {"agent": "deterministic"})
    assert status in (404, 503)  # no benchmark here, or refused while the store is faulted: never a hang
    filler.unlink()
    eventually(lambda: _health(d)[0] == 200, 30, "health healthy again")
    for eid in ids:
        d.wait_status(eid, {"Completed"}, timeout=30)


def test_deleted_database_is_degraded(daemon_factory) -> None:
    """A database file deleted under the daemon makes /health say degraded, naming the file."""
    d = daemon_factory().start()
    db = d.root / "db" / "reevd.sqlite3"
    db.unlink()
    status, body = _health(d)
    assert status == 503 and any("deleted" in r for r in body["reasons"]), body


def test_unwritable_database_is_a_startup_error(small_disk: Path, tmp_path: Path) -> None:
    """Starting on a database that cannot be written exits 1 with one line saying why."""
    first = Daemon(root=tmp_path / "root", extra_args=["--db", str(small_disk / "reevd.sqlite3")]).start()
    first.stop()
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {done.stderr.strip()}")
    second = Daemon(root=tmp_path / "root", extra_args=["--db", str(small_disk / "reevd.sqlite3")])
    second.start(wait=False)
    assert second.proc is not None
    assert second.proc.wait(timeout=30) == 1
    tail = second.log_path.read_text(errors="replace").strip().splitlines()[-1]
    assert tail.startswith("reevd: cannot start") and ("read-only" in tail.lower() or "readonly" in tail.lower()), tail
    assert os.path.exists(small_disk / "reevd.sqlite3")
