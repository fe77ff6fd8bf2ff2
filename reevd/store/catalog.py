"""Writes and reads for the benchmark catalog and agent settings (schema migration 2).

Same pattern as writes.py/reader.py: writes are WriteOp data executed only by the single
writer task; reads are functions over the reader's connection (rows come back as dicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import aiosqlite

from reevd.store.writes import PHASE_EXECUTION, Statement, WriteOp

if TYPE_CHECKING:
    from reevd.store import Store

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
    """One sync pass: upsert what changed, delete ids whose file is gone. One transaction."""

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
        out: list[Statement] = [(PHASE_EXECUTION, self.DELETE_SQL, (b,)) for b in self.removed]
        for r in self.upserts:
            out.append((PHASE_EXECUTION + 0.1, self.UPSERT_SQL, (
                r.benchmark_id, r.file_name, r.description, r.tags, r.prompt, int(r.runnable), r.reason,
                r.steps, r.content_hash, self.now)))
        return out


@dataclass(frozen=True)
class AgentConfigSaved(WriteOp):
    """Settings for one agent type; api_key None keeps a key saved earlier (the UI sends it masked)."""

    agent_type: str
    settings: str  # JSON object text, without the key
    api_key: str | None
    clear_key: bool
    now: str
    execution_id: str = field(default="", init=False)

    SQL: ClassVar[str] = """
        INSERT INTO agent_configs (agent_type, settings, api_key, updated_at) VALUES (?,?,?,?)
        ON CONFLICT(agent_type) DO UPDATE SET settings=excluded.settings, updated_at=excluded.updated_at,
            api_key = CASE WHEN ? THEN NULL ELSE COALESCE(excluded.api_key, agent_configs.api_key) END"""

    def statements(self) -> list[Statement]:
        return [(PHASE_EXECUTION, self.SQL, (self.agent_type, self.settings, self.api_key, self.now, int(self.clear_key)))]


# --- reads ------------------------------------------------------------------------------


def reader_conn(store: "Store") -> aiosqlite.Connection:
    """The Reader's connection: catalog reads share it rather than open a third one."""
    return store.reader.conn


async def _all(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with conn.execute(sql, args) as cur:
        return [dict(r) for r in await cur.fetchall()]


async def benchmarks(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await _all(conn, f"SELECT {BENCHMARK_COLUMNS} FROM benchmarks ORDER BY benchmark_id")


async def benchmark(conn: aiosqlite.Connection, benchmark_id: str) -> dict[str, Any] | None:
    rows = await _all(conn, f"SELECT {BENCHMARK_COLUMNS} FROM benchmarks WHERE benchmark_id = ?", (benchmark_id,))
    return rows[0] if rows else None


async def agent_config(conn: aiosqlite.Connection, agent_type: str) -> dict[str, Any] | None:
    rows = await _all(conn, "SELECT agent_type, settings, api_key, updated_at FROM agent_configs WHERE agent_type = ?",
                      (agent_type,))
    return rows[0] if rows else None


async def finished_executions(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Every run that ended with a verdict (Completed/Failed), oldest first; JSON picked apart in SQL."""
    return await _all(conn, """
        SELECT execution_id, benchmark_id, agent, status, score, created_at, finished_at, updated_at,
               json_extract(result_data, '$.final_result.status') AS final_status,
               json_extract(result_data, '$.success') AS success,
               json_extract(result_data, '$.final_result.execution_time_ms') AS execution_time_ms
        FROM executions WHERE status IN ('Completed', 'Failed') AND agent != ''
        ORDER BY COALESCE(finished_at, updated_at), execution_id""")


async def executions_for_benchmark(conn: aiosqlite.Connection, benchmark_id: str, limit: int) -> list[dict[str, Any]]:
    return await _all(conn, """
        SELECT execution_id, benchmark_id, agent, status, score, progress, created_at, updated_at, started_at, finished_at,
               events_count, error_message
        FROM executions WHERE benchmark_id = ? ORDER BY created_at DESC, execution_id DESC LIMIT ?""",
                      (benchmark_id, limit))
