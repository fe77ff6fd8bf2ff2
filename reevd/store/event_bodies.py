"""Event bodies too big to hold per stream, shared by every stream within one byte budget.

A stream writes a big body in pieces: for each piece it takes the body from here (read once
for every stream that wants it while it stays here), slices the piece and lets go of the body
before it awaits its client. So no stream holds a body while its client is slow: these bodies
cost at most the budget, whatever the number of clients and whatever they do, and a client
that does not read holds no budget (it cannot starve the others).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

Key = tuple[str, int]  # (execution_id, offset)
SizeOf = Callable[[str, int], Awaitable[int | None]]
Load = Callable[[str, int], Awaitable[bytes | None]]

DEFAULT_BUDGET = 32 << 20


class EventBodies:
    """Least recently used bodies, plus reservations for the reads in flight, within `budget` bytes."""

    def __init__(self, size_of: SizeOf, load: Load, budget: int = DEFAULT_BUDGET) -> None:
        self._size_of = size_of
        self._load = load
        self.budget = budget
        self.used = 0  # bytes of the bodies kept plus those being read
        self._bodies: OrderedDict[Key, bytes] = OrderedDict()
        self._loading: dict[Key, asyncio.Event] = {}
        self._freed = asyncio.Event()  # replaced each time a read ends (room may have been freed)

    async def piece(self, execution_id: str, offset: int, start: int, length: int) -> bytes | None:
        """Bytes [start, start + length) of the event's body (b"" past its end); None if the event is gone."""
        body = await self._body((execution_id, offset))
        return None if body is None else body[start:start + length]  # a copy: the body is not kept alive

    async def _body(self, key: Key) -> bytes | None:
        while True:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
                return body
            loading = self._loading.get(key)
            if loading is None:
                return await self._read(key)
            await loading.wait()  # then take it from the cache (or read it, if it was evicted or failed)

    async def _read(self, key: Key) -> bytes | None:
        done = asyncio.Event()
        self._loading[key] = done
        try:
            size = await self._size_of(*key)
            if size is None:
                return None
            await self._reserve(size)
            body: bytes | None = None
            try:
                body = await self._load(*key)
            finally:
                if body is None:
                    self.used -= size
                else:
                    self.used += len(body) - size
                    self._bodies[key] = body
                self._wake()
            return body
        finally:
            del self._loading[key]
            done.set()

    async def _reserve(self, size: int) -> None:
        """Evict least recently used bodies until `size` fits; if only reads in flight hold the
        budget, wait for one to end. A body bigger than the budget is read when nothing else is held."""
        while True:
            while self._bodies and self.used + size > self.budget:
                _, old = self._bodies.popitem(last=False)
                self.used -= len(old)
            if self.used + size <= self.budget or self.used == 0:
                self.used += size
                return
            await self._freed.wait()

    def _wake(self) -> None:
        freed, self._freed = self._freed, asyncio.Event()
        freed.set()
