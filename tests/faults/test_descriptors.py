"""Behaviour 5: running out of file descriptors loses nothing; idle connection floods are bounded."""

from __future__ import annotations

import os
import resource
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_daemon_ingest import session_bytes
from tests.helpers import Daemon, eventually, http

pytestmark = pytest.mark.e2e

LIMIT = 256


@dataclass
class LimitedDaemon(Daemon):
    """A daemon whose hard descriptor limit is LIMIT (it cannot raise it)."""

    def preexec(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    def open_fds(self) -> int:
        assert self.proc is not None
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def _idle_connections(port: int, count: int) -> list[socket.socket]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


@pytest.fixture
def limited(tmp_path: Path):  # type: ignore[no-untyped-def]
    daemons: list[LimitedDaemon] = []

    def make(*extra: str) -> LimitedDaemon:
        d = LimitedDaemon(root=tmp_path / f"root{len(daemons)}", extra_args=list(extra))
        daemons.append(d)
        return d.start()

    yield make
    for d in daemons:
        d.stop()


def test_idle_connection_flood_is_bounded(limited) -> None:  # type: ignore[no-untyped-def]
    """600 idle connections under a 256-descriptor limit: the daemon keeps answering, ingests files
    dropped meanwhile, and closes the idle ones at the head timeout."""
    d = limited("--head-timeout", "2")
    socks = _idle_connections(d.port, 600)
    try:
        status, body, _ = http("GET", f"{d.api}/health", timeout=5)
        assert status in (200, 503), body  # answered: healthy, or a 503 for the connection cap
        for i in range(20):
            (d.sessions / f"session_flood-{i}.json").write_bytes(session_bytes(f"flood-{i}"))
        eventually(lambda: http("GET", f"{d.api}/health", timeout=5)[0] == 200, 20, "idle connections timed out")
        for i in range(20):
            d.wait_status(f"flood-{i}", {"Completed"})
    finally:
        for s in socks:
            s.close()
    assert d.log_path.stat().st_size < 200_000  # a flood is logged once per interval, not per connection


def test_session_file_waits_for_descriptors(limited) -> None:  # type: ignore[no-untyped-def]
    """With every descriptor taken, a dropped session file is retried, not refused, and ingested once they free."""
    d = limited("--max-connections", "100000", "--head-timeout", "60")
    socks = _idle_connections(d.port, 400)
    try:
        eventually(lambda: d.open_fds() >= LIMIT - 2, 10, "the daemon out of descriptors")
        (d.sessions / "session_starved.json").write_bytes(session_bytes("starved"))
        eventually(lambda: "out_of_descriptors" in d.log_path.read_text(errors="replace")
                   or "Too many open files" in d.log_path.read_text(errors="replace"), 10, "the daemon hitting EMFILE")
    finally:
        for s in socks:
            s.close()
    row = d.wait_status("starved", {"Completed", "Failed"}, timeout=20)
    assert row["status"] == "Completed" and row["error_message"] is None
