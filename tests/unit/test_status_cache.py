"""Status reads answered on the loop: the cache follows every commit and stays bounded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reevd.api.render.execution import execution_state
from reevd.api.status_cache import StatusCache
from reevd.store import Store
from reevd.store.point_reads import PointReader
from reevd.store.writes import FileState, RunEnded, RunQueued, RunStarted, SessionResult

NOW = "2026-11-21T00:00:00.000Z"


@pytest.fixture
async def wired(tmp_path: Path):
    store = await Store.open(tmp_path / "db" / "t.sqlite3")
    points = PointReader(store.path)
    cache = StatusCache(points, store.reader.execution, execution_state)
    store.writer.add_listener(cache.on_commit)
    yield store, cache
    points.close()
    await store.close()


def _decoded(body: bytes) -> dict:
    return orjson.loads(body)


async def test_every_commit_is_seen_by_the_next_read(wired) -> None:
    """Queued, Running, Completed: each read after a commit shows that commit, never an older state."""
    store, cache = wired
    assert await cache.get("e1") is None
    await store.writer.write(RunQueued("e1", "001", "deterministic", 300, "{}", NOW))
    assert _decoded((await cache.get("e1")).body)["status"] == "Queued"
    assert _decoded((await cache.get("e1")).body)["status"] == "Queued"  # answered from the cache
    assert cache.hits >= 1
    await store.writer.write(RunStarted("e1", 10, 20, NOW))
    assert _decoded((await cache.get("e1")).body)["status"] == "Running"
    file = FileState("session_e1.json", "session", "e1", 1, 2, 3, 4)
    await store.writer.write(SessionResult("e1", "001", "deterministic", "Completed", None, NOW, 1.0, None, '{"score": 1.0}', NOW, file))
    state = _decoded((await cache.get("e1")).body)
    assert state["status"] == "Completed" and state["score"] == 1.0 and state["result_data"] == {"score": 1.0}
    await store.writer.write(RunEnded("e1", "Failed", "late verdict", 1, NOW))
    assert _decoded((await cache.get("e1")).body)["status"] == "Completed"  # monotonic: the store refused it


async def test_body_is_the_rendered_row(wired) -> None:
    """The cached body is exactly the ExecutionState of the stored row (what json_response would send)."""
    store, cache = wired
    await store.writer.write(RunQueued("e2", "002", "deterministic", 60, '{"k": 1}', NOW))
    got = await cache.get("e2")
    assert got is not None
    assert _decoded(got.body) == _decoded(orjson.dumps(execution_state(await store.reader.execution("e2"))))


async def test_memory_is_bounded_by_bytes(tmp_path: Path) -> None:
    """Old entries are dropped past max_bytes, and a body above max_body is served but never kept."""
    store = await Store.open(tmp_path / "db" / "t.sqlite3")
    points = PointReader(store.path)
    try:
        cache = StatusCache(points, store.reader.execution, execution_state, max_bytes=4000, max_body=2000)
        for i in range(20):
            await store.writer.write(RunQueued(f"e{i}", "001", "deterministic", 300, "{}", NOW))
            assert await cache.get(f"e{i}") is not None
        assert 0 < cache.size_bytes <= 4000 and len(cache) < 20
        await store.writer.write(RunQueued("big", "001", "deterministic", 300, orjson.dumps({"x": "y" * 5000}).decode(), NOW))
        assert len((await cache.get("big")).body) > 2000
        assert cache.row("big") is None
    finally:
        points.close()
        await store.close()
