"""Every typed key of the aiohttp application's state, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from reevd.agent_settings import AgentSettings
    from reevd.api.status_cache import StatusCache
    from reevd.catalog import Catalog
    from reevd.config import Config
    from reevd.hub import Hub
    from reevd.ingest import Ingestor
    from reevd.metrics import Metrics
    from reevd.runs import Launcher
    from reevd.store import Store
    from reevd.watcher import FolderWatcher

CONFIG: web.AppKey["Config"] = web.AppKey("config")
STORE: web.AppKey["Store"] = web.AppKey("store")
METRICS: web.AppKey["Metrics"] = web.AppKey("metrics")
HUB: web.AppKey["Hub"] = web.AppKey("hub")
INGESTOR: web.AppKey["Ingestor"] = web.AppKey("ingestor")
WATCHER: web.AppKey["FolderWatcher"] = web.AppKey("watcher")
LAUNCHER: web.AppKey["Launcher"] = web.AppKey("launcher")
STARTED_AT: web.AppKey[float] = web.AppKey("started_at")
CATALOG: web.AppKey["Catalog"] = web.AppKey("catalog")
AGENT_SETTINGS: web.AppKey["AgentSettings"] = web.AppKey("agent_settings")
STATUS: web.AppKey["StatusCache"] = web.AppKey("status_cache")
