"""sd_notify end to end: a real daemon talking to a real unix datagram socket set as NOTIFY_SOCKET."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import http

pytestmark = pytest.mark.e2e


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)  # every recv is a blocking read with a deadline
    yield sock, str(path)
    sock.close()


def _fields(datagram: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in datagram.decode().split("\n") if line)


def test_ready_watchdog_status_stopping_sequence(daemon_factory: Any, notify_socket: tuple[socket.socket, str]) -> None:
    """READY=1 with a STATUS= line once serving, WATCHDOG=1 every half of WATCHDOG_USEC, STOPPING=1 on SIGTERM."""
    sock, path = notify_socket
    launched_at = time.monotonic()
    daemon = daemon_factory(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}).start(wait=False)
    ready = _fields(sock.recv(4096))
    assert ready["READY"] == "1"
    assert "runs in flight 0" in ready["STATUS"]
    status, body, _ = http("GET", f"{daemon.api}/health", timeout=5)  # READY means answering, no retry
    assert (status, body["status"]) == (200, "healthy")

    ready_at = time.monotonic()
    for _ in range(5):
        message = _fields(sock.recv(4096))
        assert message.get("WATCHDOG") == "1", message
    # Five pings at 0.1 s intervals (half of 200 ms) cannot all be sent within 0.5 s of launch (no flood),
    # and must come soon after READY (not late); receipt times only give these loose bounds.
    now = time.monotonic()
    assert now - launched_at >= 0.45
    assert now - ready_at < 5.0

    daemon.stop(signal.SIGTERM)
    assert daemon.proc is not None and daemon.proc.returncode == 0
    tail = []
    sock.settimeout(0)
    while True:  # the daemon has exited: whatever it sent is already queued
        try:
            tail.append(_fields(sock.recv(4096)))
        except BlockingIOError:
            break
    assert tail and tail[-1] == {"STOPPING": "1", "STATUS": "stopping"}
    assert all(m.get("WATCHDOG") == "1" for m in tail[:-1])


def test_abstract_socket_address_works(daemon_factory: Any, tmp_path: Path) -> None:
    """A NOTIFY_SOCKET starting with '@' is reached as an abstract socket."""
    name = f"reevd-test-{tmp_path.name}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        daemon_factory(env={"NOTIFY_SOCKET": "@" + name}).start(wait=False)
        assert _fields(sock.recv(4096))["READY"] == "1"


def test_no_notify_socket_means_no_notifications(daemon_factory: Any) -> None:
    """Without NOTIFY_SOCKET the daemon serves normally (sd_notify is a no-op)."""
    daemon = daemon_factory(env={"NOTIFY_SOCKET": "", "WATCHDOG_USEC": "200000"}).start()
    assert daemon.stop() == 0
