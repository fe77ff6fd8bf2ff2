"""The benchmark catalog table (schema migration 2): its one write and its reads.

Same pattern as writes.py/reader.py: the write is WriteOp data executed only by the single
writer; reads are functions over the reader's connection (rows come back as dicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from reevd.store.reader import Reader
from reevd.store.writes import Statement, WriteOp

BENCHMARK_COLUMNS = "benchmark_id, file_name, description, tags, prompt, runnable, reason, steps, content_hash, synced_at"


@dataclass(frozen=True)
class BenchmarkRow:
    benchmark_id: str
    file_name: str
    description: str
    tags: str  # JSON array text
    prompt: str
    runnable: bool
    reason: str | None
    steps: int
    content_hash: str


@dataclass(frozen=True)
class CatalogSync(WriteOp):
    """One sync pass: delete ids whose file is gone, upsert what changed. One transaction."""

    upserts: tuple[BenchmarkRow, ...] = ()
    removed: tuple[str, ...] = ()
    now: str = ""
    execution_id: str = field(default="", init=False)  # not about an execution (the writer logs it)

    UPSERT_SQL: ClassVar[str] = f"""
        INSERT INTO benchmarks ({BENCHMARK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)
        ON CONFLICT(benchmark_id) DO UPDATE SET file_name=excluded.file_name, description=excluded.description,
            tags=excluded.tags, prompt=excluded.prompt, runnable=excluded.runnable, reason=excluded.reason,
            steps=excluded.steps, content_hash=excluded.content_hash, synced_at=excluded.synced_at"""
    DELETE_SQL: ClassVar[str] = "DELETE FROM benchmarks WHERE benchmark_id = ?"

    def statements(self) -> list[Statement]:
        out: list[Statement] = [(self.DELETE_SQL, (b,)) for b in self.removed]
        for r in self.upserts:
            out.append((self.UPSERT_SQL, (
                r.benchmark_id, r.file_name, r.description, r.tags, r.prompt, int(r.runnable), r.reason,
                r.steps, r.content_hash, self.now)))
        return out


async def benchmarks(reader: Reader) -> list[dict[str, Any]]:
    return await reader.all(f"SELECT {BENCHMARK_COLUMNS} FROM benchmarks ORDER BY benchmark_id")


async def benchmark(reader: Reader, benchmark_id: str) -> dict[str, Any] | None:
    rows = await reader.all(f"SELECT {BENCHMARK_COLUMNS} FROM benchmarks WHERE benchmark_id = ?", (benchmark_id,))
    return rows[0] if rows else None
