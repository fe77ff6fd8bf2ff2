"""Bounds on HTTP connections: how many may be open, and how long one may idle before a request.

aiohttp has no limit on open connections and no deadline for a request's head, so a client
that opens connections and sends nothing (slowloris) could hold every file descriptor and
starve the ingestion of files. The guard wraps aiohttp's protocol factory: past the cap a
connection gets a 503 and is closed at once; a connection that has not started a request
within the head timeout is aborted. Idle keep-alive connections are aiohttp's keepalive_timeout.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from typing import Any

import orjson
import structlog

log = structlog.get_logger("reevd")

# Descriptors kept for the database, session files, runner pipes and logs: a quarter of the
# limit, at least 64.
FD_RESERVE_MIN = 64


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (the systemd unit sets LimitNOFILE=); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("fd_limit_not_raised", soft=soft, hard=hard, error=repr(exc))
    return soft


def default_max_connections(fd_limit: int) -> int:
    return max(16, min(4096, fd_limit - max(FD_RESERVE_MIN, fd_limit // 4)))


_BUSY = orjson.dumps({"error": "too_many_connections", "message": "too many open connections; retry shortly"})
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Retry-After: 1\r\nContent-Length: " + str(len(_BUSY)).encode() + b"\r\n\r\n" + _BUSY)


class ConnectionGuard:
    def __init__(self, factory: Callable[[], asyncio.Protocol], max_connections: int, head_timeout_s: float,
                 on_lost: Callable[[asyncio.Transport], None] | None = None) -> None:
        self._factory = factory
        self.on_lost = on_lost
        self.max_connections = max_connections
        self.head_timeout_s = head_timeout_s
        self.open = 0
        self.refused = 0
        self.timed_out = 0

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self, self._factory())


class _Guarded(asyncio.Protocol):
    """Delegates everything to aiohttp's handler, counting the connection and timing its first request."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._counted = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        guard = self._guard
        if guard.open >= guard.max_connections:
            guard.refused += 1
            if guard.refused == 1 or guard.refused % 1000 == 0:
                log.warning("connections_refused", open=guard.open, limit=guard.max_connections, refused_total=guard.refused)
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        guard.open += 1
        self._counted = True
        self._timer = asyncio.get_running_loop().call_later(guard.head_timeout_s, self._head_deadline)
        self._inner.connection_made(transport)

    def _head_deadline(self) -> None:
        self._timer = None
        inner: Any = self._inner
        # aiohttp counts requests it has started on this connection; none means only a partial head came.
        if getattr(inner, "_request_count", 1) == 0 and getattr(inner, "_current_request", None) is None:
            self._guard.timed_out += 1
            if self._transport is not None:
                self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._counted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._counted else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._counted:
            self._counted = False
            self._guard.open -= 1
            self._inner.connection_lost(exc)
            if self._guard.on_lost is not None and self._transport is not None:
                self._guard.on_lost(self._transport)  # streams end now, not at their next write

    def pause_writing(self) -> None:
        if self._counted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._counted:
            self._inner.resume_writing()
