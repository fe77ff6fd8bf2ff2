"""The watcher hands names to the loop in batches, and a rescan only touches changed files."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from reevd.ingest import Ingestor
from reevd.metrics import Metrics
from reevd.store import Store
from reevd.watcher import FolderWatcher
from tests.helpers import FIXTURES, atomic_drop

SESSION = (FIXTURES / "sessions" / "session_fixture-001-sol-transfer.json").read_bytes()


async def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_every_name_of_a_burst_reaches_the_sink_once_finished(tmp_path: Path) -> None:
    """500 files renamed in at once: each name arrives, marked finished, with far fewer loop calls than events."""
    seen: dict[str, bool] = {}
    calls = 0

    def sink(name: str, finished: bool) -> None:
        nonlocal calls
        calls += 1
        seen[name] = seen.get(name, False) or finished

    watcher = FolderWatcher(asyncio.get_running_loop(), on_overflow=lambda: None)
    watcher.watch(tmp_path, sink)
    watcher.start()
    try:
        names = [f"session_b-{i}.json" for i in range(500)]
        for name in names:
            atomic_drop(tmp_path, name, b"{}")  # create, modify, close, rename: 4+ events each
        await _until(lambda: all(seen.get(n) for n in names))
    finally:
        watcher.stop()
    assert calls < 4 * len(names)  # repeats of a name within one hand-off collapse


async def test_rescan_skips_what_is_already_committed(tmp_path: Path) -> None:
    """After ingesting, a rescan starts no work for unchanged files, and picks up a changed one."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    store = await Store.open(tmp_path / "db.sqlite3")
    ingestor = Ingestor(sessions, store, Metrics())
    try:
        for i in range(20):
            atomic_drop(sessions, f"session_r-{i}.json", SESSION.replace(b"fixture-001-sol-transfer", f"r-{i}".encode()))
        assert ingestor.scan() == 20
        await ingestor.wait_idle()
        assert (await store.reader.execution("r-3"))["status"] == "Completed"
        assert ingestor.scan() == 20 and ingestor.files_in_progress == 0
        changed = sessions / "session_r-3.json"
        os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
        ingestor.scan()
        assert ingestor.files_in_progress == 1
        await ingestor.wait_idle()
    finally:
        await ingestor.close()
        await store.close()


async def test_a_burst_past_the_task_cap_is_ingested_in_full(tmp_path: Path, monkeypatch) -> None:
    """More dirty files than MAX_FILE_TASKS: the rest wait as names, and every one is committed."""
    import reevd.ingest.scheduler as scheduler

    monkeypatch.setattr(scheduler, "MAX_FILE_TASKS", 8)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    store = await Store.open(tmp_path / "db.sqlite3")
    ingestor = Ingestor(sessions, store, Metrics())
    try:
        for i in range(60):
            atomic_drop(sessions, f"session_c-{i}.json", SESSION.replace(b"fixture-001-sol-transfer", f"c-{i}".encode()))
        ingestor.scan()
        assert ingestor.files_in_progress == 60
        await ingestor.wait_idle()
        assert ingestor.files_in_progress == 0
        counts = await store.reader.status_counts()
        assert counts.get("Completed") == 60
    finally:
        await ingestor.close()
        await store.close()
