"""The watcher hands names to the loop in batches, and a rescan only touches changed files."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def _ingesting(sessions: Path) -> AsyncIterator[tuple[Store, Ingestor]]:
    """A real store beside `sessions` and an ingestor on it, closed in order afterwards."""
    store = await Store.open(sessions.parent / "db.sqlite3")
    ingestor = Ingestor(sessions, store, Metrics())
    try:
        yield store, ingestor
    finally:
        await ingestor.close()
        await store.close()

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
    async with _ingesting(sessions) as (store, ingestor):
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


async def test_a_burst_past_the_task_cap_is_ingested_in_full(tmp_path: Path, monkeypatch) -> None:
    """More dirty files than MAX_FILE_TASKS: the rest wait as names, and every one is committed."""
    import reevd.ingest.scheduler as scheduler

    monkeypatch.setattr(scheduler, "MAX_FILE_TASKS", 8)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    async with _ingesting(sessions) as (store, ingestor):
        for i in range(60):
            atomic_drop(sessions, f"session_c-{i}.json", SESSION.replace(b"fixture-001-sol-transfer", f"c-{i}".encode()))
        ingestor.scan()
        assert ingestor.files_in_progress == 60
        await ingestor.wait_idle()
        assert ingestor.files_in_progress == 0
        counts = await store.reader.status_counts()
        assert counts.get("Completed") == 60


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
    async with _ingesting(sessions) as (store, ingestor):
        assert await ingestor.ingest_session_now("fixture-001-sol-transfer")  # the session's event came first
        assert (await store.reader.execution("fixture-001-sol-transfer"))["status"] == "Completed"
        rows = await store.reader.all("SELECT COUNT(*) AS n FROM llm_calls WHERE execution_id = 'fixture-001-sol-transfer'")
        assert rows[0]["n"] == 3
        await ingestor.wait_idle()


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


OTEL = (FIXTURES / "sessions" / "enhanced_otel_fixture-001-sol-transfer.jsonl").read_bytes()


def _run_files(sessions: Path, ident: str, otel_lines: int = 0) -> None:
    """One run's OTEL file (the fixture's, or `otel_lines` copies of its first line) and its session."""
    body = OTEL.replace(b"fixture-001-sol-transfer", ident.encode())
    if otel_lines:
        body = (body.splitlines()[0] + b"\n") * otel_lines
    (sessions / f"enhanced_otel_{ident}.jsonl").write_bytes(body)
    atomic_drop(sessions, f"session_{ident}.json", SESSION.replace(b"fixture-001-sol-transfer", ident.encode()))


def _commit_order(store: Store) -> list[tuple[str, str]]:
    """(op class, execution id) of every committed op, in commit order."""
    order: list[tuple[str, str]] = []
    store.writer.add_listener(lambda ops, _elapsed: order.extend((type(op).__name__, op.execution_id) for op in ops))
    return order


async def test_batches_commit_each_runs_lines_before_its_session(tmp_path: Path) -> None:
    """300 runs ingested in batches (one large OTEL file among them, read on a task of its own): no session is committed before its run's last OTEL chunk."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for i in range(300):
        _run_files(sessions, f"o-{i}", otel_lines=4000 if i == 7 else 0)  # ~2.5 MB: several chunks
    async with _ingesting(sessions) as (store, ingestor):
        order = _commit_order(store)
        assert ingestor.scan() == 600
        await ingestor.wait_idle()
        assert (await store.reader.status_counts()).get("Completed") == 300
        rows = await store.reader.all("SELECT COUNT(*) AS n FROM events WHERE execution_id = 'o-7'")
        assert rows[0]["n"] == 4000
    session_at = {ident: i for i, (kind, ident) in enumerate(order) if kind == "SessionResult"}
    last_otel_at = {ident: i for i, (kind, ident) in enumerate(order) if kind == "OtelChunk"}
    assert len(session_at) == 300 and len(last_otel_at) == 300
    assert all(last_otel_at[ident] < session_at[ident] for ident in session_at)


async def test_large_files_past_the_task_cap_are_ingested_in_full(tmp_path: Path, monkeypatch) -> None:
    """OTEL files too large for a batch get tasks of their own, at most MAX_FILE_TASKS at once; the rest wait and all are read."""
    import reevd.ingest.scheduler as scheduler

    monkeypatch.setattr(scheduler, "MAX_FILE_TASKS", 2)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    line = OTEL.splitlines()[0] + b"\n"
    for i in range(5):
        (sessions / f"enhanced_otel_big-{i}.jsonl").write_bytes(line * 2000)  # > one 1 MiB chunk
    async with _ingesting(sessions) as (store, ingestor):
        ingestor.scan()
        await asyncio.sleep(0)  # the batch hands them over
        await _until(lambda: len(ingestor._tasks) > 0 or ingestor.files_in_progress == 0)
        assert len(ingestor._tasks) <= 2
        await ingestor.wait_idle()
        rows = await store.reader.all("SELECT execution_id, COUNT(*) AS n FROM events GROUP BY execution_id")
        assert sorted((r["execution_id"], r["n"]) for r in rows) == [(f"big-{i}", 2000) for i in range(5)]


async def test_runner_written_sessions_reach_the_store_through_the_watcher(tmp_path: Path) -> None:
    """Sessions written the runner's way (temp file in .partial/, linked in) and OTEL files, 400 of each through a real watcher: all committed."""
    from runner.session import write_session_atomic

    import orjson

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    async with _ingesting(sessions) as (store, ingestor):
        watcher = FolderWatcher(asyncio.get_running_loop(), on_overflow=ingestor.scan)
        watcher.watch(sessions, ingestor.notify)
        watcher.start()
        try:
            doc = orjson.loads(SESSION)
            for i in range(400):
                ident = f"w-{i}"
                (sessions / f"enhanced_otel_{ident}.jsonl").write_bytes(OTEL.replace(b"fixture-001-sol-transfer", ident.encode()))
                write_session_atomic(sessions, dict(doc, session_id=ident))
            counts: dict[str, int] = {}

            async def all_in() -> bool:
                counts.update(await store.reader.status_counts())
                return counts.get("Completed", 0) == 400

            deadline = time.monotonic() + 30
            while not await all_in():
                assert time.monotonic() < deadline, f"not all ingested: {counts}"
                await asyncio.sleep(0.05)
            rows = await store.reader.all("SELECT COUNT(DISTINCT execution_id) AS n FROM events")
            assert rows[0]["n"] == 400
        finally:
            watcher.stop()


async def test_the_launchers_wait_covers_a_session_a_batch_holds(tmp_path: Path) -> None:
    """ingest_session_now for a session a batch is committing returns only once it is committed."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for i in range(50):
        _run_files(sessions, f"l-{i}")
    async with _ingesting(sessions) as (store, ingestor):
        ingestor.scan()
        await asyncio.sleep(0)  # the batch task reads and submits, then waits for the commit
        assert "session_l-3.json" in ingestor._in_batch
        assert await ingestor.ingest_session_now("l-3")
        assert (await store.reader.execution("l-3"))["status"] == "Completed"
        rows = await store.reader.all("SELECT COUNT(*) AS n FROM events WHERE execution_id = 'l-3'")
        assert rows[0]["n"] == OTEL.count(b"\n")
        await ingestor.wait_idle()
