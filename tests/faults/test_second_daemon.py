"""Behaviour 3: one daemon per database; a second one refuses before it touches any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_daemon_launch import make_root, run
from tests.helpers import Daemon, eventually, write_stub_runner

pytestmark = pytest.mark.e2e

# Records each spawn, then waits for a gate file so runs stay queued behind it.
COUNTING_STUB = r'''
eid = [a for a in args if a.startswith("--execution-id=")][0].split("=", 1)[1]
with open(os.path.join(os.getcwd(), "spawned.log"), "a") as fh:
    fh.write(eid + "\n")
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(os.getcwd(), "go")) and time.monotonic() < deadline:
    time.sleep(0.01)
'''


@pytest.mark.parametrize("same_port", [False, True])
def test_second_daemon_on_same_db_refuses(daemon_factory, tmp_path: Path, same_port: bool) -> None:
    """A second `reevd serve` on the same database exits naming the holder; no queued run is run twice."""
    root = make_root(tmp_path)
    cmd = write_stub_runner(tmp_path / "stub.py", COUNTING_STUB)
    first = daemon_factory(root, extra_args=["--runner-cmd", " ".join(cmd), "--max-concurrency", "1"]).start()
    ids = [run(first) for _ in range(5)]
    eventually(lambda: (root / "spawned.log").exists(), 10, "the first run spawned")
    second = Daemon(root=root, port=first.port if same_port else Daemon(root=root).port,
                    extra_args=["--runner-cmd", " ".join(cmd), "--max-concurrency", "4"])
    second.start(wait=False)
    assert second.proc is not None
    try:
        assert second.proc.wait(timeout=30) == 1
    finally:
        second.stop()
    message = second.log_path.read_text(errors="replace")
    assert "in use by another reevd" in message and f"pid {first.proc.pid}" in message, message  # type: ignore[union-attr]
    (root / "go").write_text("")
    for eid in ids:
        first.wait_status(eid, {"Failed", "Completed"}, timeout=30)
    spawned = (root / "spawned.log").read_text().split()
    assert sorted(spawned) == sorted(ids), spawned
