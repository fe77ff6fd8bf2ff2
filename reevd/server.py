"""Serve the app until SIGTERM/SIGINT, then shut down promptly (streams closed first).

Start order matters: the database lock first (one daemon per database), then the port is
bound, and only then are the store opened and runs recovered or launched. A second daemon
on the same database, or one whose port is taken, exits before it touches any run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import structlog
from aiohttp import web

from reevd import keys, sdnotify
from reevd.app import create_app
from reevd.config import Config
from reevd.connections import ConnectionGuard, default_max_connections, raise_fd_limit
from reevd.store.lock import DatabaseLock

log = structlog.get_logger("reevd")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one). Raises OSError naming the cause."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family, backlog=1024)
    sock.setblocking(False)
    return sock


class GuardedSite(web.SockSite):
    """aiohttp's SockSite with our connection guard around its protocol factory."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, guard_args: tuple[int, float]) -> None:
        super().__init__(runner, sock, backlog=1024)
        self._guard_args = guard_args
        self.guard: ConnectionGuard | None = None

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        hub = self._runner.app[keys.HUB] if isinstance(self._runner, web.AppRunner) else None
        self.guard = ConnectionGuard(server, *self._guard_args, on_lost=hub.connection_lost if hub else None)
        self._server = await asyncio.get_running_loop().create_server(self.guard, sock=self._sock, backlog=1024)


async def serve(config: Config) -> None:
    fd_limit = raise_fd_limit()
    lock = DatabaseLock.acquire(config.database)  # raises DatabaseLocked naming the holder
    try:
        sock = bind(config.host, config.port)
        port = sock.getsockname()[1]
        lock.describe(f"pid {os.getpid()}, serving http://{config.host}:{port}")
        await _serve(config, sock, port, fd_limit)
    finally:
        lock.release()


async def _serve(config: Config, sock: socket.socket, port: int, fd_limit: int) -> None:
    app = create_app(config)
    access_log: logging.Logger | None = None
    if config.access_log:  # aiohttp wants a logger here (a format string broke every request)
        access_log = logging.getLogger("aiohttp.access")
        access_log.setLevel(logging.INFO)
    runner = web.AppRunner(app, access_log=access_log, handle_signals=False, shutdown_timeout=1.0,
                           keepalive_timeout=config.idle_timeout_s)
    try:
        await runner.setup()  # opens the store, scans, recovers runs
    except BaseException:
        # Release what did start (aiosqlite's threads are non-daemon: a leak hangs exit),
        # so a failed start exits and systemd's Restart= can act.
        sock.close()
        await runner.cleanup()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    notifier = sdnotify.Notifier.from_environment()
    max_connections = config.max_connections or default_max_connections(fd_limit)
    try:
        site = GuardedSite(runner, sock, (max_connections, config.head_timeout_s))
        await site.start()
        log.info("serving", host=config.host, port=port, root=str(config.root), db=str(config.database),
                 fd_limit=fd_limit, max_connections=max_connections)
        notifier.ready(app)
        await stop.wait()
        log.info("shutting_down")
        notifier.stopping()
    finally:
        notifier.close()
        await runner.cleanup()
        log.info("stopped")
