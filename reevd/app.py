"""create_app(config): the application, its resources as cleanup contexts, nothing else.

Each resource is created in one `cleanup_ctx` generator and released after its `yield`,
in reverse order: launcher, then watcher and ingestor, then the store (drained, closed).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from reevd import keys
from reevd.agent_settings import AgentSettings
from reevd.api.errors import cors_middleware, error_middleware
from reevd.api.render.execution import execution_state
from reevd.api.status_cache import StatusCache
from reevd.api.routes import add_routes
from reevd.catalog import Catalog
from reevd.config import Config
from reevd.hub import Hub
from reevd.ingest import Ingestor
from reevd.ingest.files import remove_stale_temps
from reevd.metrics import Metrics
from reevd.runs import Launcher
from reevd.runs.recovery import recover
from reevd.store import Store
from reevd.store.point_reads import PointReader
from reevd.watcher import FolderWatcher
from runner.formats import looks_like_ours

log = structlog.get_logger("reevd")

REQUEST_BODY_LIMIT = 512 * 1024


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    store = await Store.open(config.database)
    points = PointReader(config.database)
    status = StatusCache(points, store.reader.execution, execution_state)
    store.writer.add_listener(status.on_commit)  # first: whatever a listener wakes reads fresh rows
    app[keys.STATUS] = status
    metrics = app[keys.METRICS]
    store.writer.add_listener(metrics.observe_batch)
    store.writer.add_listener(app[keys.HUB].publish_ops)
    metrics.executions.bind(store.reader.status_counts)
    await metrics.executions.refresh()
    store.writer.add_listener(metrics.executions.on_commit)
    app[keys.STORE] = store
    try:
        yield
    finally:
        await metrics.executions.close()
        points.close()
        await store.close()


async def _ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    config.sessions_dir.mkdir(parents=True, exist_ok=True)
    config.benchmarks_dir.mkdir(parents=True, exist_ok=True)
    metrics = app[keys.METRICS]
    ingestor = Ingestor(
        config.sessions_dir, app[keys.STORE], metrics,
        session_max_bytes=config.session_file_max_bytes, line_max_bytes=config.otel_line_max_bytes,
    )
    await ingestor.load()

    def on_overflow() -> None:
        # Events for every watched folder may be lost: rescan them all.
        metrics.overflow_rescans.inc()
        log.warning("watcher_overflow_rescan")
        ingestor.scan()
        catalog = app.get(keys.CATALOG)
        if catalog is not None:
            catalog.request_sync()

    watcher = FolderWatcher(asyncio.get_running_loop(), on_overflow)
    watcher.watch(config.sessions_dir, ingestor.notify, looks_like_ours)
    app[keys.INGESTOR] = ingestor
    app[keys.WATCHER] = watcher
    watcher.start()
    found = ingestor.scan()  # after start: a file written in between is seen twice, never missed
    log.info("watching", folder=str(config.sessions_dir), files_found=found,
             stale_temp_files_removed=remove_stale_temps(config.sessions_dir))
    try:
        yield
    finally:
        watcher.stop()
        await ingestor.close()


async def _catalog_ctx(app: web.Application) -> AsyncIterator[None]:
    """benchmarks/ mirrored into the database: synced now, then on every change the watcher sees."""
    config = app[keys.CONFIG]
    catalog = Catalog(config.benchmarks_dir, app[keys.STORE])
    app[keys.CATALOG] = catalog
    app[keys.WATCHER].watch(config.benchmarks_dir, catalog.notify)  # before the scan: no change missed
    await catalog.sync()
    try:
        yield
    finally:
        await catalog.close()


async def _launcher_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    settings = AgentSettings(os.environ)  # saved agent settings merged over the daemon's environment
    await settings.load(app[keys.STORE].reader)
    app[keys.AGENT_SETTINGS] = settings
    launcher = Launcher(config, app[keys.STORE], app[keys.INGESTOR], app[keys.METRICS], settings)
    app[keys.LAUNCHER] = launcher
    app[keys.WATCHER].watch(config.run_logs_dir, launcher.on_run_log_event)  # logs stay bounded while runs run
    launcher.start()  # the fork server imports while recovery runs; queued runs wait for it
    await recover(launcher, config, app[keys.STORE], app[keys.INGESTOR])
    live = app[keys.METRICS].live
    live.in_flight = lambda: launcher.in_flight
    live.queued = lambda: launcher.queued
    live.writer_backlog = lambda: app[keys.STORE].writer.backlog
    try:
        yield
    finally:
        await launcher.close()


async def _close_streams(app: web.Application) -> None:
    # Field notes: an open SSE stream makes graceful shutdown wait for shutdown_timeout.
    app[keys.HUB].close_all()


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[cors_middleware, error_middleware], client_max_size=REQUEST_BODY_LIMIT)
    app[keys.CONFIG] = config
    app[keys.METRICS] = Metrics()
    app[keys.HUB] = Hub()
    app[keys.METRICS].live.streams = lambda: app[keys.HUB].subscriber_count
    app[keys.STARTED_AT] = time.monotonic()
    app.cleanup_ctx.extend([_store_ctx, _ingest_ctx, _catalog_ctx, _launcher_ctx])
    app.on_shutdown.append(_close_streams)
    add_routes(app)
    return app
