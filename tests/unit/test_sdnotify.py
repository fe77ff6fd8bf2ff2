"""sd_notify: address parsing, watchdog interval, the writer stall probe, and what a tick sends."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from reevd import keys
from reevd.app import create_app
from reevd.config import Config
from reevd.sdnotify import Notifier, WriterProbe, socket_address, status_line, watchdog_interval


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "n.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)  # a tick sends synchronously: anything sent is already queued
    yield sock, path
    sock.close()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[web.Application]:
    application = create_app(Config(root=tmp_path / "root", port=0))
    runner = web.AppRunner(application)
    await runner.setup()  # runs the cleanup contexts: store, watcher, launcher
    yield application
    await runner.cleanup()


def _drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_socket_address_forms() -> None:
    """'@name' is the abstract socket '\\0name', absolute paths pass, anything else is ignored."""
    assert socket_address("@sd") == "\0sd"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("") is None
    assert socket_address("relative.sock") is None
    assert socket_address("@") is None


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_pid() -> None:
    """WATCHDOG_USEC=200000 means a ping every 0.1 s, unless WATCHDOG_PID names another process."""
    assert watchdog_interval({"WATCHDOG_USEC": "200000"}, 42) == pytest.approx(0.1)
    assert watchdog_interval({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "42"}, 42) == pytest.approx(0.1)
    assert watchdog_interval({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}, 42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}, 42) is None
    assert watchdog_interval({}, 42) is None


def test_notifier_without_socket_is_a_no_op() -> None:
    """No NOTIFY_SOCKET: sending reports False and nothing fails."""
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.send("READY=1") is False
    notifier.stopping()
    notifier.close()


def test_writer_probe_flags_only_a_backlog_without_commits() -> None:
    """Idle or committing writers are fine; a backlog with no commit for longer than the limit is stuck."""
    probe = WriterProbe(stall_s=5)
    assert not probe.stuck(backlog=0, last_commit=1.0, now=100.0)  # idle for long: fine
    assert not probe.stuck(backlog=3, last_commit=1.0, now=101.0)  # backlog just appeared
    assert not probe.stuck(backlog=3, last_commit=1.0, now=105.0)
    assert probe.stuck(backlog=3, last_commit=1.0, now=106.5)  # 5.5 s with no commit
    assert not probe.stuck(backlog=3, last_commit=106.6, now=107.0)  # it committed: progress
    assert not probe.stuck(backlog=0, last_commit=106.6, now=200.0)


def test_status_line_lists_counts() -> None:
    """The STATUS= text names runs in flight, the queue, every status count and open streams."""
    line = status_line({"Running": 2, "Completed": 5}, in_flight=2, queued=1, streams=3)
    assert line == "runs in flight 2, queued 1; completed 5, running 2; streams 3"


async def test_ready_then_ticks_ping_only_while_healthy(app: web.Application, receiver: tuple[socket.socket, str]) -> None:
    """READY=1 carries STATUS; a tick pings while healthy and withholds WATCHDOG=1 once the watcher thread is dead."""
    sock, path = receiver
    notifier = Notifier(path, interval_s=60)
    try:
        notifier.ready(app)
        ready = _drain(sock)
        assert len(ready) == 1 and ready[0].startswith("READY=1\nSTATUS=runs in flight 0")
        notifier._tick()
        assert _drain(sock) == ["WATCHDOG=1"]  # STATUS unchanged: not repeated
        app[keys.WATCHER].stop()
        assert notifier.unhealthy_reason() == "watcher thread died"
        notifier._tick()
        assert _drain(sock) == []
        notifier.stopping()
        assert _drain(sock) == ["STOPPING=1\nSTATUS=stopping"]
    finally:
        notifier.close()


async def test_tick_withholds_ping_when_the_writer_task_ended(app: web.Application, receiver: tuple[socket.socket, str]) -> None:
    """A writer whose task has ended is unhealthy: no WATCHDOG=1."""
    sock, path = receiver
    notifier = Notifier(path, interval_s=60)
    try:
        notifier.ready(app)
        _drain(sock)
        await app[keys.STORE].writer.close()
        notifier._tick()
        assert _drain(sock) == []
        assert notifier.unhealthy_reason() == "writer thread ended"
    finally:
        notifier.close()
