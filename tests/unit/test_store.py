"""The store on a real SQLite file: migrations, batching, and the monotonic state machine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reevd.store import DatabaseTooNew, Store
from reevd.store.schema import MIGRATIONS
from reevd.store.writes import EventMeta, FileState, OtelChunk, RunEnded, RunQueued, RunStarted, SessionInvalid, SessionResult

NOW = "2026-11-21T00:00:00.000Z"


def _file(name: str = "session_e1.json", kind: str = "session", offset: int = 0, lines: int = 0) -> FileState:
    return FileState(name, kind, "e1", 1, 2, 100, 5, offset=offset, lines=lines)


def _result(status: str = "Completed", score: float = 1.0) -> SessionResult:
    return SessionResult("e1", "001", "deterministic", status, None, NOW, score, None, '{"score": 1.0}', NOW, _file())


def _events(rows: list[tuple[int, str, str | None, str | None, str]]) -> tuple[list[EventMeta], bytes]:
    """(offset, event_type, ts, tool_name, body) rows as an OTEL chunk carries them: places in its bytes."""
    events: list[EventMeta] = []
    data = b""
    for offset, event_type, ts, tool_name, body in rows:
        raw = body.encode()
        events.append((offset, event_type, ts, tool_name, len(data) + 1, len(raw)))
        data += raw
    return events, data


def _chunk(offsets: list[int], lines: int) -> OtelChunk:
    events, data = _events([(o, "ToolInput", NOW, "t", "{}") for o in offsets])
    return OtelChunk("e1", _file("enhanced_otel_e1.jsonl", "otel", offset=max(offsets) + 3, lines=lines), events, data, False, 0.3, "", "", NOW)


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "db" / "t.sqlite3")
    yield s
    await s.close()


async def test_lifecycle_reaches_completed_and_never_regresses(store: Store) -> None:
    """Queued -> Running -> Completed; a late OTEL chunk or a launcher verdict then changes nothing."""
    await store.writer.write(RunQueued("e1", "001", "deterministic", 300, "{}", NOW))
    assert (await store.reader.execution("e1"))["status"] == "Queued"
    await store.writer.write(RunStarted("e1", 123, 456, NOW))
    assert (await store.reader.execution("e1"))["status"] == "Running"
    await store.writer.write(_result())
    await store.writer.write(_chunk([0, 3], lines=2))
    await store.writer.write(RunEnded("e1", "Failed", "exited", 1, NOW))
    row = await store.reader.execution("e1")
    assert row["status"] == "Completed" and row["score"] == 1.0 and row["progress"] == 1.0
    assert row["exit_code"] == 1  # the exit code is still recorded, the verdict is not


async def test_stopped_is_final_even_if_a_session_arrives(store: Store) -> None:
    """A run stopped by request stays Stopped when its session file lands afterwards."""
    await store.writer.write(RunQueued("e1", "001", "deterministic", 300, "{}", NOW))
    await store.writer.write(RunEnded("e1", "Stopped", "stopped by request", None, NOW))
    await store.writer.write(_result())
    assert (await store.reader.execution("e1"))["status"] == "Stopped"


async def test_invalid_session_fails_until_a_valid_one_arrives(store: Store) -> None:
    """An unparseable session marks Failed with the ingest error; a later valid file is the truth."""
    await store.writer.write(SessionInvalid("e1", "invalid session file: truncated", NOW, _file()))
    row = await store.reader.execution("e1")
    assert row["status"] == "Failed" and "truncated" in row["error_message"]
    await store.writer.write(_result())
    row = await store.reader.execution("e1")
    assert row["status"] == "Completed" and row["error_message"] is None and row["ingest_error"] is None


async def test_replayed_events_are_stored_once(store: Store) -> None:
    """The same OTEL lines committed twice (by offset) leave one row each and an exact count."""
    await store.writer.write(_chunk([0, 3, 6], lines=3))
    await store.writer.write(_chunk([0, 3, 6], lines=3))
    events, more = await store.reader.events("e1", -1, 100)
    assert not more
    assert [e["offset"] for e in events] == [0, 3, 6]
    row = await store.reader.execution("e1")
    assert row["events_count"] == 3 and row["status"] == "Running" and row["origin"] == "disk"


async def test_concurrent_submissions_commit_in_few_batches(store: Store) -> None:
    """Ops submitted together are committed together (one transaction per batch, not per op)."""
    import asyncio

    before = store.writer.batches
    futures = [store.writer.submit(RunQueued(f"e{i}", "001", "a", 300, "{}", NOW)) for i in range(500)]
    await asyncio.gather(*futures)
    # The first op is committed on the loop (the thread idles); the thread may wake for the
    # second while the rest are still being queued; everything after that is one batch.
    assert store.writer.batches - before <= 3
    assert len(await store.reader.executions(__import__("reevd.store", fromlist=["ExecutionFilter"]).ExecutionFilter(), 1000)) == 500


async def test_a_poison_op_does_not_drop_its_batch(store: Store) -> None:
    """When one op breaks a constraint, the other ops of its batch are still committed."""
    import asyncio

    bad = RunQueued("bad", "001", "a", 300, "{}", NOW)
    object.__setattr__(bad, "statements", lambda: [("INSERT INTO executions (execution_id) VALUES (NULL)", ())])
    good = store.writer.submit(RunQueued("good", "001", "a", 300, "{}", NOW))
    failing = store.writer.submit(bad)
    results = await asyncio.gather(good, failing, return_exceptions=True)
    assert results[0] is None and isinstance(results[1], sqlite3.IntegrityError)
    assert await store.reader.execution("good") is not None


async def test_an_operational_error_fails_the_batch_once(store: Store) -> None:
    """A database-wide failure is reported to every op of the batch at once, not retried op by op."""
    import asyncio

    bad = RunQueued("bad", "001", "a", 300, "{}", NOW)
    object.__setattr__(bad, "statements", lambda: [("INSERT INTO no_such_table VALUES (1)", ())])
    # An idle writer commits a lone op at once on the loop: one op in flight first, so the
    # six below queue behind it and the writer thread takes them as one batch.
    busy = store.writer.submit(RunQueued("first", "001", "a", 300, "{}", NOW))
    before = store.writer.batches
    futures = [store.writer.submit(RunQueued(f"n{i}", "001", "a", 300, "{}", NOW)) for i in range(5)]
    futures.append(store.writer.submit(bad))
    results = await asyncio.gather(*futures, return_exceptions=True)
    await busy
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)
    assert store.writer.batches - before == 1
    assert await store.reader.execution("n0") is None


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    """A database written by a newer reevd is refused with a clear error, not misread."""
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(DatabaseTooNew):
        await Store.open(path)


async def test_reopen_keeps_data_and_schema_version(tmp_path: Path) -> None:
    """Closing and reopening migrates nothing twice and keeps every row."""
    path = tmp_path / "db.sqlite3"
    s = await Store.open(path)
    await s.writer.write(RunQueued("e1", "001", "a", 300, "{}", NOW))
    await s.close()
    s = await Store.open(path)
    try:
        assert (await s.reader.execution("e1"))["status"] == "Queued"
    finally:
        await s.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_event_pages_are_bounded_by_bytes(store: Store) -> None:
    """A page of events stops at its byte budget (lines may be 1 MiB) and says more remain."""
    big = "x" * 1000
    events, data = _events([(o * 2000, "ToolInput", NOW, None, f'"{big}"') for o in range(10)])
    await store.writer.write(OtelChunk("e1", _file("enhanced_otel_e1.jsonl", "otel", 20000, 10), events, data, False, 0.3, "", "", NOW))
    page, more = await store.reader.events("e1", -1, 100, max_bytes=3500)
    assert [e["offset"] for e in page] == [0, 2000, 4000] and more
    page, more = await store.reader.events("e1", 4000, 100, max_bytes=10**6)
    assert len(page) == 7 and not more
    page, more = await store.reader.events("e1", -1, 2, max_bytes=10)  # always at least one row
    assert len(page) == 1 and more


async def test_ops_of_different_kinds_apply_in_submission_order(store: Store) -> None:
    """Queued then Stopped then a session result in one batch: the stop wins, as submitted, and nothing regresses."""
    import asyncio

    futures = [store.writer.submit(RunQueued("o1", "001", "a", 300, "{}", NOW)),
               store.writer.submit(RunEnded("o1", "Stopped", "stopped by request", None, NOW)),
               store.writer.submit(SessionResult("o1", "001", "a", "Completed", None, NOW, 1.0, None, "{}", NOW,
                                                 FileState("session_o1.json", "session", "o1", 1, 9, 1, 1)))]
    await asyncio.gather(*futures)
    row = await store.reader.execution("o1")
    assert row["status"] == "Stopped" and row["error_message"] == "stopped by request"


async def test_submit_many_reports_each_ops_outcome_and_keeps_the_rest(store: Store) -> None:
    """Ops submitted as one item settle with one error slot each: a poison op fails alone, in its place."""
    bad = RunQueued("bad", "001", "a", 300, "{}", NOW)
    object.__setattr__(bad, "statements", lambda: [("INSERT INTO executions (execution_id) VALUES (NULL)", ())])
    ops = [RunQueued("m0", "001", "a", 300, "{}", NOW), bad, RunQueued("m1", "001", "a", 300, "{}", NOW),
           RunEnded("m0", "Stopped", "stopped by request", None, NOW)]
    errors = await store.writer.submit_many(ops)
    assert [e is None for e in errors] == [True, False, True, True]
    assert isinstance(errors[1], sqlite3.IntegrityError)
    assert (await store.reader.execution("m0"))["status"] == "Stopped"  # applied in submission order
    assert await store.reader.execution("m1") is not None
    assert store.writer.backlog == 0


async def test_submit_many_past_the_batch_limit_commits_everything_once_each(store: Store) -> None:
    """More ops than one transaction takes are split across transactions; listeners see every op once."""
    from reevd.store.writer import MAX_BATCH_OPS

    seen: list[str] = []
    store.writer.add_listener(lambda ops, _elapsed: seen.extend(op.execution_id for op in ops))
    n = MAX_BATCH_OPS + 7
    before = store.writer.batches
    errors = await store.writer.submit_many([RunQueued(f"k{i}", "001", "a", 300, "{}", NOW) for i in range(n)])
    assert errors == [None] * n
    assert store.writer.batches - before >= 2
    assert seen == [f"k{i}" for i in range(n)]
    assert len(await store.reader.executions(__import__("reevd.store", fromlist=["ExecutionFilter"]).ExecutionFilter(), n + 10)) == n
    assert await store.writer.submit_many([]) == []


async def test_checkpoints_keep_the_wal_bounded_while_writes_never_pause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's connection never checkpoints by itself (store/checkpointer.py): a thread of
    its own does, and the writer copies the rest past WAL_RESTART_BYTES so the WAL restarts.
    SQLite restarts a WAL only at a transaction that finds it all copied, so without that last
    step a writer that never pauses would grow it by everything written (12 MB here)."""
    import reevd.store.checkpointer as checkpointer_module
    import reevd.store.writer as writer_module

    for module in (writer_module, checkpointer_module):  # the pacing, and the writer's retry spacing
        monkeypatch.setattr(module, "CHECKPOINT_EVERY_BYTES", 64 << 10)
    monkeypatch.setattr(writer_module, "WAL_RESTART_BYTES", 1 << 20)
    path = tmp_path / "db" / "t.sqlite3"
    store = await Store.open(path)
    try:
        body = '{"pad": "' + "x" * 4000 + '"}'
        in_flight: list = []
        for i in range(300):  # 300 chunks of 10 events of ~4 KB, two always queued: no pause
            offsets = [(i * 10 + k) * 5000 for k in range(10)]
            events, data = _events([(o, "ToolInput", NOW, None, body) for o in offsets])
            state = _file("enhanced_otel_e1.jsonl", "otel", offset=offsets[-1] + 5000, lines=(i + 1) * 10)
            in_flight.append(store.writer.submit(OtelChunk("e1", state, events, data, False, 0.3, "", "", NOW)))
            if len(in_flight) > 2:
                await in_flight.pop(0)
        for fut in in_flight:
            await fut
        assert (await store.reader.execution("e1"))["events_count"] == 3000
        wal = Path(f"{path}-wal").stat().st_size
        assert wal < 4 << 20, f"WAL grew to {wal:,} bytes for ~12 MB written"
        assert store.writer.checkpoints > 0
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 3000
        finally:
            conn.close()
    finally:
        await store.close()


async def test_a_reader_pinning_the_wal_does_not_make_every_commit_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a long read holds old frames the WAL cannot restart: the writer then tries again a
    checkpoint's worth of commits later, not after every commit (each try is an fsync on it)."""
    import reevd.store.checkpointer as checkpointer_module
    import reevd.store.writer as writer_module

    for module in (writer_module, checkpointer_module):  # the pacing, and the writer's retry spacing
        monkeypatch.setattr(module, "CHECKPOINT_EVERY_BYTES", 64 << 10)
    monkeypatch.setattr(writer_module, "WAL_RESTART_BYTES", 256 << 10)
    path = tmp_path / "db" / "t.sqlite3"
    store = await Store.open(path)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        await store.writer.write(_chunk([0], lines=1))
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()  # holds its snapshot until COMMIT
        tries: list[bool] = []
        catch_up = store.writer._checkpointer.catch_up

        def counted(conn: sqlite3.Connection) -> bool:
            tries.append(catch_up(conn))
            return tries[-1]

        monkeypatch.setattr(store.writer._checkpointer, "catch_up", counted)
        body = '{"pad": "' + "x" * 4000 + '"}'
        for i in range(1, 201):  # 200 commits of ~16 KB: ~3 MB past a 256 KB restart bound
            events, data = _events([(i * 5000 + k, "ToolInput", NOW, None, body) for k in range(4)])
            state = _file("enhanced_otel_e1.jsonl", "otel", offset=i * 5000 + 10, lines=1 + 4 * i)
            await store.writer.write(OtelChunk("e1", state, events, data, False, 0.3, "", "", NOW))
        assert tries and not any(tries)  # the reader's snapshot kept frames from being copied
        assert len(tries) <= 60, f"{len(tries)} checkpoint tries for 200 commits"
    finally:
        reader.close()
        await store.close()
