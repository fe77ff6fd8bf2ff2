"""The only module that imports watchdog: an inotify observer whose handler hands off to the loop.

Field notes: an exception inside a handler stops event dispatch for good, so the handler
does one thing (`call_soon_threadsafe`) and cannot raise; queue overflow is only a log line
on `watchdog.observers.inotify_c`, so we hook that logger and rescan; files that existed
before `start()` produce no event, so the caller scans after starting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
import structlog
from watchdog.observers import Observer

# (file name, writer finished?) -> None, called on the event loop.
ChangeSink = Callable[[str, bool], None]
# file name -> does the sink want it? Called on the observer thread: pure and cheap.
NameFilter = Callable[[str], bool]

# No FileClosedEvent (IN_CLOSE_WRITE): every write is an IN_MODIFY already, so a close only
# repeated what the file's last modify said; it was a quarter of the 80,000 events a burst of
# 20,000 sessions + 20,000 OTEL files gives, and watchdog's three threads held the GIL ~37% of
# the time under it (perf/profile_daemon.py burst, py-spy --gil). What it told: that a session
# written in place is finished. Without it an invalid one waits for the settle timer
# (ingest/scheduler.py SETTLE_AFTER_S); a rename, a link() and the launcher's exit still say so.
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
]
OVERFLOW_LOGGER = "watchdog.observers.inotify_c"
log = structlog.get_logger("reevd.watcher")


class _Handoff(FileSystemEventHandler):
    """Hands names to the loop in batches: one `call_soon_threadsafe` (a self-pipe write and a
    loop wake-up) per batch of events, not per event. A burst of 40,000 files delivered
    ~100,000 events one by one, and each woke the loop (perf/profile_daemon.py burst).

    Names queue here while a hand-off is pending; repeats of a name collapse into one entry
    (finished if any of them was), so the batch is bounded by distinct names, not events.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: ChangeSink, wanted: NameFilter | None = None) -> None:
        self._loop = loop
        self._sink = sink
        self._wanted = wanted
        self._lock = threading.Lock()
        self._pending: dict[str, bool] = {}

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            # A move's destination is complete (its writer renamed it in); any other event's
            # path may still be being written.
            moved = isinstance(event, FileMovedEvent)
            name = os.path.basename(os.fsdecode(event.dest_path if moved else event.src_path))
            finished = moved
            if self._wanted is not None and not self._wanted(name):
                # A writer's temp file (created, written, closed, renamed away): no loop wake-up
                # for it, so the rename that follows is not queued behind three of them.
                return
            with self._lock:
                first = not self._pending
                self._pending[name] = finished or self._pending.get(name, False)
            if first:  # a hand-off already queued will carry this name too
                self._loop.call_soon_threadsafe(self._flush)
        except Exception:  # noqa: BLE001 - a raise here would end dispatch for good
            pass

    def _flush(self) -> None:
        """On the loop: everything that arrived since the hand-off was queued, in arrival order."""
        with self._lock:
            batch, self._pending = self._pending, {}
        for name, finished in batch.items():
            try:
                self._sink(name, finished)
            except Exception as exc:  # noqa: BLE001 - one name's failure must not drop the rest
                log.error("watch_sink_failed", file=name, error=repr(exc))


class _OverflowHook(logging.Handler):
    def __init__(self, loop: asyncio.AbstractEventLoop, on_overflow: Callable[[], None]) -> None:
        super().__init__(level=logging.WARNING)
        self._loop = loop
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if "overflow" in record.getMessage().lower():
                self._loop.call_soon_threadsafe(self._on_overflow)
        except Exception:  # noqa: BLE001
            pass


class FolderWatcher:
    """Watches folders (non-recursive) and reports file names to sinks on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_overflow: Callable[[], None]) -> None:
        self._loop = loop
        self._observer = Observer()
        self._observer.name = "reevd-watcher"
        self._observer.daemon = True
        self._overflow_hook = _OverflowHook(loop, on_overflow)

    def watch(self, folder: Path, sink: ChangeSink, wanted: NameFilter | None = None) -> None:
        """Report changes in `folder` to `sink`; with `wanted`, only names it accepts."""
        self._observer.schedule(_Handoff(self._loop, sink, wanted), str(folder), recursive=False,
                                event_filter=WATCHED_EVENTS)

    def start(self) -> None:
        logging.getLogger(OVERFLOW_LOGGER).addHandler(self._overflow_hook)
        self._observer.start()

    @property
    def alive(self) -> bool:
        """The observer thread and every folder's emitter thread are running.

        If a watched folder is deleted its emitter stops while the observer lives on, and
        nothing would be ingested any more: health and the systemd watchdog must see that.
        """
        return self._observer.is_alive() and all(e.is_alive() for e in self._observer.emitters)

    def stop(self) -> None:
        logging.getLogger(OVERFLOW_LOGGER).removeHandler(self._overflow_hook)
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=2)
