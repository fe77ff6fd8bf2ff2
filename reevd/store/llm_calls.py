"""The model requests of LLM runs (schema migration 3): llm_<id>.jsonl lines, one row each.

Written like OTEL events: each chunk of complete lines and the file's new offset commit in
one transaction, so every line is stored exactly once across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from reevd.store.reader import Reader
from reevd.store.writes import FileState, Statement, WriteOp


@dataclass(frozen=True)
class LlmChunk(WriteOp):
    execution_id: str
    file: FileState
    rows: list[tuple[int, str]] = field(default_factory=list)  # (byte offset, line JSON text)
    replaced: bool = False

    INSERT_SQL: ClassVar[str] = (
        "INSERT OR IGNORE INTO llm_calls (execution_id, offset, body) "
        "SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?2)"
    )
    DELETE_SQL: ClassVar[str] = "DELETE FROM llm_calls WHERE execution_id = ?"

    @property
    def wal_bytes(self) -> int:
        return 512 + sum(len(body) for _, body in self.rows)

    def statements(self) -> list[Statement]:
        out: list[Statement] = []
        if self.replaced:
            out.append((self.DELETE_SQL, (self.execution_id,)))
        out.append(self.file.statement())
        if self.rows:
            out.append((self.INSERT_SQL, (self.execution_id, orjson.dumps(self.rows).decode())))
        return out


# A line may be 1 MiB (the ingest bound), so a row count alone does not bound a response.
PAGE_BYTES = 8 << 20


async def llm_calls(reader: Reader, execution_id: str, after: int = -1, limit: int = 1000,
                    max_bytes: int | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Calls after byte offset `after`: at most `limit` rows and about `max_bytes` of bodies
    (always at least one row). -> (rows, more). Sizes are read first, so no more than one
    page of bodies is ever in memory."""
    sizes = await reader.all(
        "SELECT offset, length(CAST(body AS BLOB)) AS size FROM llm_calls WHERE execution_id = ? AND offset > ? "
        "ORDER BY offset LIMIT ?", (execution_id, after, limit + 1))
    last, budget, count = after, PAGE_BYTES if max_bytes is None else max_bytes, 0
    for row in sizes:
        if count == limit or (count and row["size"] > budget):
            break
        budget -= row["size"]
        last, count = row["offset"], count + 1
    if not count:
        return [], False
    rows = await reader.all(
        "SELECT offset, body FROM llm_calls WHERE execution_id = ? AND offset > ? AND offset <= ? ORDER BY offset",
        (execution_id, after, last))
    return rows, count < len(sizes)
