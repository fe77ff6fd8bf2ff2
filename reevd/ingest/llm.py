"""An llm_<id>.jsonl file's new complete lines -> LlmChunk writes (same tailing as OTEL files).

Lines are stored as the runner wrote them (it already scrubbed keys); a line that is not a
JSON object is skipped and counted, like an invalid OTEL line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import orjson
import structlog

from reevd.ingest.otel import TailCounts, tailed_chunks
from reevd.ingest.tail import TailChunk
from reevd.store.llm_calls import LlmChunk
from reevd.store.writes import FileState

log = structlog.get_logger("reevd.ingest")


def llm_chunks(name: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
               line_max: int, chunk_max: int, counts: TailCounts) -> Iterator[LlmChunk]:
    def parse(chunk: TailChunk) -> tuple[list[tuple[int, str]], int, int]:
        rows: list[tuple[int, str]] = []
        invalid = 0
        for offset, line in chunk.lines:
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                doc = None
            if not isinstance(doc, dict):
                invalid += 1
                log.warning("llm_line_skipped", execution_id=execution_id, offset=offset)
                continue
            rows.append((offset, line.decode("utf-8", "replace")))
        return rows, len(rows), invalid

    for rows, state, replaced in tailed_chunks(name, "llm", execution_id, fd, st, known, line_max, chunk_max,
                                               counts, parse):
        yield LlmChunk(execution_id, state, rows, replaced)
