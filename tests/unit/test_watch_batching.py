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


async def test_a_restart_after_a_partly_committed_tail_ingests_the_rest(tmp_path: Path) -> None:
    """A daemon killed between two chunks of one OTEL file: the rescan after restart reads the rest, not skips it."""
    from reevd.ingest.otel import TailCounts, otel_chunks

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    line = (FIXTURES / "sessions" / "enhanced_otel_fixture-001-sol-transfer.jsonl").read_bytes().splitlines()[0]
    lines = 4000  # ~2.5 MB: more than one 1 MiB chunk
    name = "enhanced_otel_p-1.jsonl"
    (sessions / name).write_bytes((line + b"\n") * lines)
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        fd = os.open(sessions / name, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            first = next(otel_chunks(name, "p-1", fd, st, None, 1 << 20, (1 << 20) + 1, TailCounts()))
        finally:
            os.close(fd)
        assert first.file.offset < st.st_size
        await store.writer.write(first)  # what the killed daemon had committed: the first chunk only
        ingestor = Ingestor(sessions, store, Metrics())
        try:
            await ingestor.load()
            ingestor.scan()
            await ingestor.wait_idle()
        finally:
            await ingestor.close()
        rows = await store.reader.all("SELECT COUNT(*) AS n FROM events WHERE execution_id = 'p-1'")
        assert rows[0]["n"] == lines
    finally:
        await store.close()


async def test_a_run_is_terminal_only_after_its_llm_calls_are_stored(tmp_path: Path) -> None:
    """Session and llm_<id>.jsonl land together: once the session is committed, every model call is already stored."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "llm_fixture-001-sol-transfer.jsonl").write_text("".join(f'{{"turn": {t}}}\n' for t in range(3)))
    atomic_drop(sessions, "session_fixture-001-sol-transfer.json", SESSION)
    store = await Store.open(tmp_path / "db.sqlite3")
    ingestor = Ingestor(sessions, store, Metrics())
    try:
        assert await ingestor.ingest_session_now("fixture-001-sol-transfer")  # the session's event came first
        assert (await store.reader.execution("fixture-001-sol-transfer"))["status"] == "Completed"
        rows = await store.reader.all("SELECT COUNT(*) AS n FROM llm_calls WHERE execution_id = 'fixture-001-sol-transfer'")
        assert rows[0]["n"] == 3
        await ingestor.wait_idle()
    finally:
        await ingestor.close()
        await store.close()


async def test_names_the_sink_does_not_want_never_reach_the_loop(tmp_path: Path) -> None:
    """With a name filter, a writer's temp files (created, written, renamed away) cost no hand-off to the loop."""
    from runner.formats import looks_like_ours

    seen: list[str] = []
    watcher = FolderWatcher(asyncio.get_running_loop(), on_overflow=lambda: None)
    watcher.watch(tmp_path, lambda name, finished: seen.append(name), looks_like_ours)
    watcher.start()
    try:
        for i in range(50):
            atomic_drop(tmp_path, f"session_w-{i}.json", b"{}")  # each through a '.'-named temp file
        await _until(lambda: "session_w-49.json" in seen)
    finally:
        watcher.stop()
    assert seen and all(looks_like_ours(name) for name in seen), sorted(set(seen))[:5]
