"""An llm_<id>.jsonl file's new complete lines -> LlmChunk writes (same tailing as OTEL files).

Lines are stored as the runner wrote them (it already scrubbed keys); a line that is not a
JSON object is skipped and counted, like an invalid OTEL line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import orjson
import structlog

from reevd.ingest.otel import TailCounts
from reevd.ingest.tail import read_lines
from reevd.store.llm_calls import LlmChunk
from reevd.store.writes import FileState

log = structlog.get_logger("reevd.ingest")


def llm_chunks(name: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
               line_max: int, chunk_max: int, counts: TailCounts) -> Iterator[LlmChunk]:
    state = known
    replaced = False
    if state is None:
        state = FileState(name, "llm", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    elif (state.dev, state.inode) != (st.st_dev, st.st_ino) or st.st_size < state.offset:
        state = FileState(name, "llm", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        replaced = True
    if not replaced and state.offset >= st.st_size and not state.skipping:
        return
    first = True
    while True:
        chunk = read_lines(fd, state.offset, state.skipping, line_max, chunk_max, end=st.st_size)
        if chunk.new_offset == state.offset and not (replaced and first):
            return
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
        state = replace(state, size=st.st_size, mtime_ns=st.st_mtime_ns, offset=chunk.new_offset,
                        lines=state.lines + len(rows), invalid=state.invalid + invalid,
                        oversize=state.oversize + chunk.oversize, skipping=chunk.skipping)
        counts.lines += len(rows)
        counts.invalid += invalid
        counts.oversize += chunk.oversize
        yield LlmChunk(execution_id, state, rows, replaced and first)
        first = False
        if chunk.new_offset >= st.st_size:
            return
