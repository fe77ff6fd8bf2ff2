"""Behaviour 7: no writer follows a symlink planted at a log's path to a file outside the root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.otel import OtelWriter
from runner.safe_files import UnsafeFile
from tests.e2e.test_daemon_launch import make_root, run
from tests.faults.test_second_daemon import COUNTING_STUB
from tests.helpers import REPO, eventually, write_stub_runner

VICTIM = b"precious\n" * (3 * 1024 * 1024 // 9)  # about 3 MiB outside the root


@pytest.mark.e2e
def test_link_at_queued_runs_log_is_refused(daemon_factory, tmp_path: Path) -> None:
    """A link planted at a queued run's log path fails that run; the file it points to is untouched."""
    victim = tmp_path / "outside.bin"
    victim.write_bytes(VICTIM)
    root = make_root(tmp_path)
    cmd = write_stub_runner(tmp_path / "stub.py", COUNTING_STUB + "print('x' * 600000)\n")
    d = daemon_factory(root, extra_args=["--runner-cmd", " ".join(cmd), "--max-concurrency", "1",
                                          "--run-log-max-bytes", "65536"]).start()
    first = run(d)
    eventually(lambda: (root / "spawned.log").exists(), 10, "the first run spawned")
    queued = run(d)
    os.symlink(victim, root / "logs" / "runs" / f"{queued}.log")
    (root / "go").write_text("")
    d.wait_status(first, {"Failed", "Completed"}, timeout=30)
    row = d.wait_status(queued, {"Failed"}, timeout=30)
    assert "symbolic link" in row["error_message"]
    assert victim.read_bytes() == VICTIM
    assert queued not in (root / "spawned.log").read_text()


def test_runner_refuses_linked_otel_file(tmp_path: Path) -> None:
    """The runner's OTEL writer refuses a symlink at its path; `reev-runner` exits 1 naming it."""
    victim = tmp_path / "outside.jsonl"
    victim.write_bytes(b"keep\n")
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    link = sessions / "enhanced_otel_planted.jsonl"
    os.symlink(victim, link)
    with pytest.raises(UnsafeFile):
        OtelWriter(link, "planted", "0")
    done = subprocess.run([sys.executable, "-m", "runner", str(REPO / "benchmarks" / "001-sol-transfer.yml"),
                           "--execution-id", "planted", "--sessions-dir", str(sessions)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "symbolic link" in done.stderr, done.stderr
    assert victim.read_bytes() == b"keep\n"
    fifo = sessions / "enhanced_otel_fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeFile):
        OtelWriter(fifo, "fifo", "0")  # would block forever on open without a reader
