"""Read queries about executions, events and files. Readers use their own connection: in WAL
mode they never queue behind the writer thread."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import aiosqlite

from reevd.models import ACTIVE_SQL, JUDGED_SQL
from reevd.store.event_bodies import EventBodies
from reevd.store.writes import FileState

EXECUTION_COLUMNS = (
    "execution_id, benchmark_id, agent, status, origin, created_at, updated_at, started_at, finished_at, "
    "progress, score, error_message, ingest_error, result_data, metadata, pid, pid_start, exit_code, "
    "timeout_s, events_count, last_event_type, last_event_at"
)


@dataclass(frozen=True)
class ExecutionFilter:
    benchmark_id: str | None = None
    agent: str | None = None
    status: str | None = None


def encode_cursor(created_at: str, execution_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{execution_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Raises ValueError on anything that is not a cursor we made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created_at, sep, execution_id = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
    if not sep or not created_at or not execution_id:
        raise ValueError("malformed cursor")
    return created_at, execution_id


EVENT_PAGE_BYTES = 4 << 20


# A run's model usage, picked out of its result JSON in SQL (no parse in Python on list paths).
LLM_USAGE_COLUMNS = """
    json_extract(result_data, '$.llm.usage.prompt_tokens') AS prompt_tokens,
    json_extract(result_data, '$.llm.usage.completion_tokens') AS completion_tokens,
    json_extract(result_data, '$.llm.usage.total_tokens') AS total_tokens,
    json_extract(result_data, '$.llm.usage.latency_ms') AS latency_ms,
    json_extract(result_data, '$.llm.usage.requests') AS requests,
    json_extract(result_data, '$.llm.cost_usd') AS cost_usd"""


class Reader:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._conn.row_factory = aiosqlite.Row
        self.event_bodies = EventBodies(self.event_body_size, self.event_body)

    async def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Every row of one query, as dicts (for the table modules beside this one)."""
        async with self._conn.execute(sql, args) as cur:
            return [dict(r) for r in await cur.fetchall()]

    async def execution(self, execution_id: str) -> dict[str, Any] | None:
        async with self._conn.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?", (execution_id,)
        ) as cur:
            row = await cur.fetchone()
        return dict(row) if row is not None else None

    async def executions(
        self, filt: ExecutionFilter, limit: int, cursor: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; keyset pagination on (created_at, execution_id)."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("benchmark_id", filt.benchmark_id), ("agent", filt.agent), ("status", filt.status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if cursor is not None:
            where.append("(created_at, execution_id) < (?, ?)")
            args.extend(cursor)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {EXECUTION_COLUMNS} FROM executions {clause} ORDER BY created_at DESC, execution_id DESC LIMIT ?"
        async with self._conn.execute(sql, (*args, limit)) as cur:
            return [dict(r) for r in await cur.fetchall()]

    async def latest_for_benchmark(self, benchmark_id: str, agent: str | None = None) -> dict[str, Any] | None:
        rows = await self.executions(ExecutionFilter(benchmark_id=benchmark_id, agent=agent), limit=1)
        return rows[0] if rows else None

    async def events(
        self, execution_id: str, after: int, limit: int, max_bytes: int = EVENT_PAGE_BYTES
    ) -> tuple[list[dict[str, Any]], bool]:
        """Events after `after`, at most `limit` rows and about `max_bytes` of bodies
        (a line may be 1 MiB: a row count alone does not bound a response). -> (rows, more)."""
        rows: list[dict[str, Any]] = []
        budget = max_bytes
        async with self._conn.execute(
            "SELECT offset, event_type, ts, tool_name, body FROM events "
            "WHERE execution_id = ? AND offset > ? ORDER BY offset LIMIT ?",
            (execution_id, after, limit + 1),
        ) as cur:
            async for row in cur:
                if len(rows) == limit or (rows and len(row["body"]) > budget):
                    return rows, True
                budget -= len(row["body"])
                rows.append(dict(row))
        return rows, False

    async def stream_events(
        self, execution_id: str, after: int, limit: int, max_bytes: int, inline_max: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Like `events`, but a body over `inline_max` bytes comes as None (read it in pieces from
        `event_bodies`): a page holds about `max_bytes` whatever the lines' sizes. -> (rows, more).

        Each query runs to its end in one hop to the reader thread: a statement left open between
        hops keeps its current row (a whole 1 MiB body) in SQLite's memory, once per open stream."""
        heads = list(await self._conn.execute_fetchall(
            "SELECT offset, event_type, ts, tool_name, length(CAST(body AS BLOB)) AS size "
            "FROM events WHERE execution_id = ? AND offset > ? ORDER BY offset LIMIT ?",
            (execution_id, after, limit + 1),
        ))
        rows: list[dict[str, Any]] = []
        inline: list[int] = []
        budget = max_bytes
        for head in heads:
            size = head["size"] if head["size"] <= inline_max else 0
            if len(rows) == limit or (rows and size > budget):
                break
            budget -= size
            row = dict(head)
            row["body"] = None
            rows.append(row)
            if head["size"] <= inline_max:
                inline.append(head["offset"])
        if inline:
            marks = ",".join("?" * len(inline))
            found = await self._conn.execute_fetchall(
                f"SELECT offset, body FROM events WHERE execution_id = ? AND offset IN ({marks})", (execution_id, *inline))
            bodies: dict[int, str] = {r[0]: r[1] for r in found}
            for row in rows:
                if row["offset"] in bodies:
                    row["body"] = bodies[row["offset"]]
        return rows, len(heads) > len(rows)

    async def has_events_after(self, execution_id: str, after: int) -> bool:
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM events WHERE execution_id = ? AND offset > ? LIMIT 1", (execution_id, after))
        return bool(list(rows))

    async def event_body_size(self, execution_id: str, offset: int) -> int | None:
        """The body's size in bytes (SQLite reads it, but nothing reaches Python)."""
        rows = list(await self._conn.execute_fetchall(
            "SELECT length(CAST(body AS BLOB)) FROM events WHERE execution_id = ? AND offset = ?", (execution_id, offset)))
        return int(rows[0][0]) if rows else None

    async def event_body(self, execution_id: str, offset: int) -> bytes | None:
        """The body as stored (UTF-8 bytes), in one hop; for big bodies, go through `event_bodies`."""
        rows = list(await self._conn.execute_fetchall(
            "SELECT CAST(body AS BLOB) FROM events WHERE execution_id = ? AND offset = ?", (execution_id, offset)))
        return bytes(rows[0][0]) if rows else None

    async def file_state(self, name: str) -> FileState | None:
        async with self._conn.execute(
            "SELECT name, kind, execution_id, dev, inode, size, mtime_ns, offset, lines, invalid, oversize, skipping "
            "FROM files WHERE name = ?",
            (name,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        values = dict(row)
        values["skipping"] = bool(values["skipping"])
        return FileState(**values)

    async def all_file_states(self) -> dict[str, FileState]:
        async with self._conn.execute(
            "SELECT name, kind, execution_id, dev, inode, size, mtime_ns, offset, lines, invalid, oversize, skipping FROM files"
        ) as cur:
            rows = await cur.fetchall()
        out = {}
        for row in rows:
            values = dict(row)
            values["skipping"] = bool(values["skipping"])
            out[values["name"]] = FileState(**values)
        return out

    async def status_counts(self) -> dict[str, int]:
        async with self._conn.execute("SELECT status, COUNT(*) FROM executions GROUP BY status") as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def active_executions(self) -> list[dict[str, Any]]:
        async with self._conn.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE status IN {ACTIVE_SQL} "
            "ORDER BY created_at, execution_id"
        ) as cur:
            return [dict(r) for r in await cur.fetchall()]

    async def ping(self) -> bool:
        async with self._conn.execute("SELECT 1") as cur:
            return (await cur.fetchone()) is not None

    async def judged_executions(self) -> list[dict[str, Any]]:
        """Every run that ended with a verdict (Completed/Failed), oldest first; JSON picked apart in SQL."""
        return await self.all(f"""
            SELECT execution_id, benchmark_id, agent, status, score, created_at, finished_at, updated_at,
                   json_extract(result_data, '$.final_result.execution_time_ms') AS execution_time_ms,
                   {LLM_USAGE_COLUMNS}
            FROM executions WHERE status IN {JUDGED_SQL} AND agent != ''
            ORDER BY COALESCE(finished_at, updated_at), execution_id""")

    async def executions_for_benchmark(self, benchmark_id: str, limit: int) -> list[dict[str, Any]]:
        return await self.all("""
            SELECT execution_id, benchmark_id, agent, status, score, progress, created_at, updated_at, started_at,
                   finished_at, events_count, error_message
            FROM executions WHERE benchmark_id = ? ORDER BY created_at DESC, execution_id DESC LIMIT ?""",
                              (benchmark_id, limit))
