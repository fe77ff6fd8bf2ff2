"""sd_notify, inline: READY/STOPPING/STATUS and a watchdog that pings only while healthy.

Field notes (systemd): one datagram per message to `$NOTIFY_SOCKET`, a leading `@` meaning an
abstract socket; `WATCHDOG=1` every half of `$WATCHDOG_USEC`. The PyPI senders are unmaintained,
and the protocol is a few lines (systemd's own reference sender is about as long as `send`).

The watchdog is a `call_later` timer on the event loop, so a blocked loop stops the pings by
itself; each tick also checks the observer thread and the writer before vouching for them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web

from reevd import keys

log = structlog.get_logger("reevd")

# A writer with queued ops and no commit for this long is stuck (a commit takes milliseconds;
# SQLite's busy timeout is seconds): stop vouching and let systemd restart us.
WRITER_STALL_S = 30.0


def socket_address(value: str) -> str | None:
    """`$NOTIFY_SOCKET` as a socket address: '@name' is abstract ('\\0name'), else an absolute path."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock and relative paths: not for us


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between pings (half of `$WATCHDOG_USEC`), or None when no watchdog is asked of us."""
    raw_pid = environ.get("WATCHDOG_PID")
    if raw_pid and raw_pid != str(pid):
        return None  # meant for another process (sd_watchdog_enabled does the same check)
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1e6 if usec > 0 else None


@dataclass
class WriterProbe:
    """Is the writer making progress? Backlog drained, or a commit since the backlog appeared."""

    stall_s: float = WRITER_STALL_S
    _waiting_since: float | None = None
    _seen_commit: float = 0.0

    def stuck(self, backlog: int, last_commit: float, now: float) -> bool:
        if backlog == 0 or last_commit != self._seen_commit:
            self._seen_commit = last_commit
            self._waiting_since = None if backlog == 0 else now
            return False
        if self._waiting_since is None:
            self._waiting_since = now
        return now - self._waiting_since > self.stall_s


def status_line(counts: Mapping[str, int], in_flight: int, queued: int, streams: int) -> str:
    """The one-line STATUS= shown by `systemctl status reevd`."""
    by_status = ", ".join(f"{name.lower()} {n}" for name, n in sorted(counts.items())) or "no executions"
    return f"runs in flight {in_flight}, queued {queued}; {by_status}; streams {streams}"


class Notifier:
    """Sends to `$NOTIFY_SOCKET` when there is one; every method is a no-op when there is not."""

    def __init__(self, address: str | None, interval_s: float | None = None,
                 writer_stall_s: float = WRITER_STALL_S) -> None:
        self._address = address
        self._interval = interval_s if address else None
        self._sock: socket.socket | None = None
        if address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)  # never block the loop on a full receive queue
        self._timer: asyncio.TimerHandle | None = None
        self._app: web.Application | None = None
        self._probe = WriterProbe(writer_stall_s)
        self._last_status = ""
        self._withheld: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Notifier":
        env = os.environ if environ is None else environ
        address = socket_address(env.get("NOTIFY_SOCKET", ""))
        return cls(address, watchdog_interval(env, os.getpid()) if address else None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    @property
    def watchdog_interval(self) -> float | None:
        return self._interval

    def send(self, *lines: str) -> bool:
        if self._sock is None or self._address is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:  # systemd gone or queue full: a dropped ping, not a crash
            log.warning("sd_notify_failed", error=repr(exc))
            return False
        return True

    def ready(self, app: web.Application) -> None:
        """Listening, and the watcher is up (cleanup contexts ran before the site started)."""
        self._app = app
        if self._sock is None:
            return
        self.send("READY=1", self._status())
        app[keys.METRICS].executions.add_listener(self._on_counts_changed)
        log.info("sd_notify_ready", watchdog_interval_s=self._interval)
        if self._interval is not None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def stopping(self) -> None:
        self._cancel()
        self.send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        self._cancel()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _status_text(self) -> str:
        assert self._app is not None
        live = self._app[keys.METRICS].live
        return status_line(live.status_counts(), live.in_flight(), live.queued(), live.streams())

    def _status(self) -> str:
        self._last_status = self._status_text()
        return f"STATUS={self._last_status}"

    def _on_counts_changed(self, _counts: Mapping[str, int]) -> None:
        """Keep `systemctl status` current between watchdog ticks (and without a watchdog)."""
        if self._sock is not None and self._status_text() != self._last_status:
            self.send(self._status())

    def unhealthy_reason(self) -> str | None:
        """Why we should not vouch for the daemon right now (None: healthy)."""
        assert self._app is not None
        if not self._app[keys.WATCHER].alive:
            return "watcher thread died"
        store = self._app[keys.STORE]
        writer = store.writer
        if not writer.alive:
            return "writer thread ended"
        problem = store.problem()
        if problem is not None:
            return problem
        if self._probe.stuck(writer.backlog, writer.last_commit_monotonic, time.monotonic()):
            return "writer stalled with a backlog"
        return None

    def _tick(self) -> None:
        # Running at all proves the loop turns; the rest is checked explicitly.
        assert self._interval is not None
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)
        reason = self.unhealthy_reason()
        if reason is not None:
            if reason != self._withheld:
                log.error("watchdog_withheld", reason=reason)
            self._withheld = reason
            return
        if self._withheld is not None:
            log.info("watchdog_resumed")
            self._withheld = None
        if self._status_text() != self._last_status:
            self.send("WATCHDOG=1", self._status())
        else:
            self.send("WATCHDOG=1")
