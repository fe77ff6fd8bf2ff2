"""Serve the app until SIGTERM/SIGINT, then shut down promptly (streams closed first)."""

from __future__ import annotations

import asyncio
import logging
import signal

import structlog
from aiohttp import web

from reevd.app import create_app
from reevd.config import Config
from reevd import sdnotify

log = structlog.get_logger("reevd")


async def serve(config: Config) -> None:
    app = create_app(config)
    access_log: logging.Logger | None = None
    if config.access_log:  # aiohttp wants a logger here (a format string broke every request)
        access_log = logging.getLogger("aiohttp.access")
        access_log.setLevel(logging.INFO)
    runner = web.AppRunner(app, access_log=access_log, handle_signals=False, shutdown_timeout=1.0)
    try:
        await runner.setup()  # opens the store, scans, recovers runs
    except BaseException:
        # Release what did start (aiosqlite's threads are non-daemon: a leak hangs exit),
        # so a failed start exits and systemd's Restart= can act.
        await runner.cleanup()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    notifier = sdnotify.Notifier.from_environment()
    try:
        site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
        await site.start()
        addresses = runner.addresses  # the real port when --port 0 asked for any free one
        port = addresses[0][1] if addresses else config.port
        log.info("serving", host=config.host, port=port, root=str(config.root), db=str(config.database))
        notifier.ready(app)
        await stop.wait()
        log.info("shutting_down")
        notifier.stopping()
    finally:
        notifier.close()
        await runner.cleanup()
        log.info("stopped")
