"""Where an OTEL line becomes a row: an OTEL file's new complete lines -> OtelChunk writes.

Reads from the committed offset to the size fstat gave (a later write brings its own
event), in chunks; each chunk is one write op carrying the file's new offset, so events and
offset commit together (exactly once across crashes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import structlog

from reevd.ingest.parse import PROGRESS_BY_EVENT, InvalidInput, parse_otel_line
from reevd.ingest.tail import read_lines
from reevd.models import utc_now_iso
from reevd.store.writes import EventRow, FileState, OtelChunk

log = structlog.get_logger("reevd.ingest")


@dataclass
class TailCounts:
    lines: int = 0
    invalid: int = 0
    oversize: int = 0


def otel_chunks(name: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
                line_max: int, chunk_max: int, counts: TailCounts) -> Iterator[OtelChunk]:
    """The write ops for what was appended since `known` (lazily: one chunk read per step)."""
    state = known
    replaced = False
    if state is None:
        state = FileState(name, "otel", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    elif (state.dev, state.inode) != (st.st_dev, st.st_ino) or st.st_size < state.offset:
        log.info("otel_file_replaced", file=name, old_offset=state.offset, size=st.st_size)
        state = FileState(name, "otel", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        replaced = True
    if not replaced and state.offset >= st.st_size and not state.skipping:
        return
    first_chunk = True
    while True:
        chunk = read_lines(fd, state.offset, state.skipping, line_max, chunk_max, end=st.st_size)
        if chunk.new_offset == state.offset and not (replaced and first_chunk):
            return  # only a partial line (or nothing) left: wait for its newline
        events: list[EventRow] = []
        invalid = 0
        progress: float | None = None
        benchmark_id = agent = ""
        for offset, line in chunk.lines:
            try:
                ev = parse_otel_line(line)
            except InvalidInput as exc:
                invalid += 1
                log.warning("otel_line_skipped", execution_id=execution_id, offset=offset, error=str(exc)[:200])
                continue
            events.append(EventRow(offset, ev.event_type, ev.timestamp, ev.tool_name, ev.body))
            step = PROGRESS_BY_EVENT.get(ev.event_type)
            if step is not None and (progress is None or step > progress):
                progress = step
            benchmark_id = benchmark_id or ev.benchmark_id
            agent = agent or ev.agent
        if chunk.oversize:
            log.warning("otel_line_oversize", execution_id=execution_id, count=chunk.oversize)
        state = replace(
            state,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            offset=chunk.new_offset,
            lines=state.lines + len(events),
            invalid=state.invalid + invalid,
            oversize=state.oversize + chunk.oversize,
            skipping=chunk.skipping,
        )
        counts.lines += len(events)
        counts.invalid += invalid
        counts.oversize += chunk.oversize
        yield OtelChunk(execution_id, state, events, replaced and first_chunk, progress, benchmark_id, agent, utc_now_iso())
        first_chunk = False
        if chunk.new_offset >= st.st_size:
            return
