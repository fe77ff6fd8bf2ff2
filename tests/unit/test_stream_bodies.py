"""Big event bodies on streams: the piecewise frame is the same bytes, and the shared bodies stay within their budget."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from reevd.api.render.execution import EVENT_JSON_TAIL, event_json_head, event_view
from reevd.store.event_bodies import EventBodies


@pytest.mark.parametrize("row", [
    {"offset": 0, "event_type": "ToolOutput", "ts": "2026-11-21T00:00:00Z", "tool_name": "sol_transfer",
     "body": orjson.dumps({"tool_output": {"data": "x" * 70_000}}).decode()},
    {"offset": 2**62, "event_type": "Prompt", "ts": None, "tool_name": None, "body": '{"p":"é ✓ \\"q\\" 𝄞"}'},
])
def test_piecewise_event_json_is_the_same_bytes(row: dict) -> None:
    """Head, body bytes and tail written apart join into exactly what orjson makes of the whole event view."""
    assert event_json_head(row) + row["body"].encode() + EVENT_JSON_TAIL == orjson.dumps(event_view(row))


class Store:
    """Bodies of known sizes; counts reads and records how many run at once."""

    def __init__(self, sizes: dict[tuple[str, int], int]) -> None:
        self.sizes = sizes
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def size_of(self, execution_id: str, offset: int) -> int | None:
        return self.sizes.get((execution_id, offset))

    async def load(self, execution_id: str, offset: int) -> bytes | None:
        self.reads += 1
        await self.gate.wait()
        size = self.sizes.get((execution_id, offset))
        return None if size is None else bytes([offset % 256]) * size


async def test_one_read_serves_every_waiting_stream() -> None:
    """Fifty streams asking for pieces of one body at once cause one read, and each gets its own slice."""
    store = Store({("e", 7): 100_000})
    bodies = EventBodies(store.size_of, store.load, budget=1 << 20)
    store.gate.clear()
    asks = [asyncio.ensure_future(bodies.piece("e", 7, i * 1000, 1000)) for i in range(50)]
    await asyncio.sleep(0)
    store.gate.set()
    assert [len(p or b"") for p in await asyncio.gather(*asks)] == [1000] * 50
    assert store.reads == 1
    assert await bodies.piece("e", 7, 99_500, 1000) == bytes([7]) * 500
    assert await bodies.piece("e", 7, 100_000, 1000) == b""


async def test_bodies_stay_within_the_budget_and_missing_is_none() -> None:
    """Bodies of 300 bytes in a budget of 1,000 keep at most 3 of them, evicting the least recently used; a missing event is None."""
    store = Store({("e", n): 300 for n in range(6)})
    bodies = EventBodies(store.size_of, store.load, budget=1000)
    peak = 0
    for n in [0, 1, 2, 0, 3, 4, 0, 5]:
        assert await bodies.piece("e", n, 0, 10) == bytes([n]) * 10
        peak = max(peak, bodies.used)
    assert peak <= 1000 and bodies.used == 900
    reads = store.reads
    assert await bodies.piece("e", 0, 0, 1) == b"\x00"  # kept: used recently throughout
    assert store.reads == reads
    assert await bodies.piece("e", 1, 0, 1) == b"\x01"  # evicted long ago: read again
    assert store.reads == reads + 1
    assert await bodies.piece("gone", 1, 0, 1) is None


async def test_reads_in_flight_count_against_the_budget() -> None:
    """While reads hold the whole budget, another read waits for one to end instead of going over."""
    store = Store({("e", n): 600 for n in range(3)})
    bodies = EventBodies(store.size_of, store.load, budget=1000)
    store.gate.clear()
    first = asyncio.ensure_future(bodies.piece("e", 0, 0, 1))
    second = asyncio.ensure_future(bodies.piece("e", 1, 0, 1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.reads == 1 and bodies.used == 600  # the second waits for room
    store.gate.set()
    assert await first == b"\x00" and await second == b"\x01"
    assert bodies.used == 600  # the first body was evicted to make room


async def test_streams_asking_the_same_share_one_read_until_a_notice() -> None:
    """Identical reads in flight share one answer; one asked after a notice is a new read (it must see that commit)."""
    from reevd.hub import Hub, Notice

    hub = Hub()
    calls = 0
    gate = asyncio.Event()

    async def read() -> list[int]:
        nonlocal calls
        calls += 1
        mine = calls
        await gate.wait()
        return [mine]

    first = [asyncio.ensure_future(hub.shared_read(("page", "e", 5), read)) for _ in range(10)]
    await asyncio.sleep(0)
    hub.publish(Notice("e", True))
    later = asyncio.ensure_future(hub.shared_read(("page", "e", 5), read))
    other = asyncio.ensure_future(hub.shared_read(("page", "e", 9), read))
    await asyncio.sleep(0)
    gate.set()
    assert [await f for f in first] == [[1]] * 10
    assert await later == [2] and await other == [3] and calls == 3
