"""Where an OTEL line becomes a row: an OTEL file's new complete lines -> OtelChunk writes.

Reads from the committed offset to the size fstat gave (a later write brings its own
event), in chunks; each chunk is one write op carrying the file's new offset, so events and
offset commit together (exactly once across crashes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from itertools import accumulate, repeat
from operator import add
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from reevd.ingest.parse import (
    PROGRESS_BY_EVENT,
    InvalidInput,
    PlainOtelLine,
    parse_ascii_otel_line,
    parse_otel_line,
    parse_plain_otel_lines,
)
from reevd.ingest.tail import TailChunk, read_lines
from reevd.models import utc_now_iso
from reevd.store.writes import EventMeta, FileState, OtelChunk

log = structlog.get_logger("reevd.ingest")

T = TypeVar("T")

# While the loop parses a chunk (pure Python, holding the GIL), the writer thread, between two
# SQLite steps of the previous chunk, waits for the GIL up to the switch interval: 5 ms by
# default, several times per chunk, which made writing and parsing take turns.
PARSE_SWITCH_INTERVAL_S = 0.0002


@dataclass
class TailCounts:
    lines: int = 0
    invalid: int = 0
    oversize: int = 0


def tailed_chunks(name: str, kind: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
                  line_max: int, chunk_max: int, counts: TailCounts,
                  parse: Callable[[TailChunk], tuple[T, int, int]]) -> Iterator[tuple[T, FileState, bool]]:
    """(parsed, new state, replaced) per chunk of complete lines appended to a JSONL file since
    `known` (lazily: one chunk read per step). `parse` turns a chunk (its (offset, line) pairs
    and the bytes they were cut from) into (what to store, lines stored, lines invalid); `replaced` is True for the first chunk of a
    file that was truncated or replaced (its old rows must go in the same transaction)."""
    state = known
    replaced = False
    if state is None:
        state = FileState(name, kind, execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    elif (state.dev, state.inode) != (st.st_dev, st.st_ino) or st.st_size < state.offset:
        log.info(f"{kind}_file_replaced", file=name, old_offset=state.offset, size=st.st_size)
        state = FileState(name, kind, execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        replaced = True
    if not replaced and state.offset >= st.st_size and not state.skipping:
        return
    first_chunk = True
    while True:
        chunk = read_lines(fd, state.offset, state.skipping, line_max, chunk_max, end=st.st_size)
        if chunk.new_offset == state.offset and not (replaced and first_chunk):
            return  # only a partial line (or nothing) left: wait for its newline
        parsed, stored, invalid = parse(chunk)
        if chunk.oversize:
            log.warning(f"{kind}_line_oversize", execution_id=execution_id, count=chunk.oversize)
        state = replace(
            state,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            offset=chunk.new_offset,
            lines=state.lines + stored,
            invalid=state.invalid + invalid,
            oversize=state.oversize + chunk.oversize,
            skipping=chunk.skipping,
        )
        counts.lines += stored
        counts.invalid += invalid
        counts.oversize += chunk.oversize
        yield parsed, state, replaced and first_chunk
        first_chunk = False
        if chunk.new_offset >= st.st_size:
            return


def _plain_events(base: int, lines: list[PlainOtelLine], lengths: list[int]) -> tuple[list[EventMeta], str, str]:
    """The events of a chunk read from file offset `base` whose lines parse_plain_otel_lines
    read whole, and the first benchmark id and agent named: one tuple per line, no other step."""
    offsets = accumulate(map(add, lengths, repeat(1)), initial=base)
    shift = 1 - base  # substr() counts from 1
    events: list[EventMeta] = [
        (at, ln.event_type, ln.timestamp, ln.tool_input.tool_name if ln.tool_input is not None else None, at + shift, n)
        for ln, at, n in zip(lines, offsets, lengths)
    ]
    bid = next((m.benchmark_id for ln in lines if (m := ln.metadata) is not None and m.benchmark_id), "")
    who = next((a for ln in lines if (m := ln.metadata) is not None and (a := m.agent or m.agent_type)), "")
    return events, bid, who


def otel_chunks(name: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
                line_max: int, chunk_max: int, counts: TailCounts) -> Iterator[OtelChunk]:
    """The write ops for what was appended since `known` (lazily: one chunk read per step).

    Each line is parsed once, for its fields; its body is not decoded: the op carries the
    chunk's bytes and each event's place in them (perf/limits_perf.py item 3: the per-line
    Python work on the loop was as long as SQLite's write of the row)."""
    progress: float | None = None
    benchmark_id = agent = ""
    data = b""

    def parse(chunk: TailChunk) -> tuple[list[EventMeta], int, int]:
        switch = sys.getswitchinterval()
        sys.setswitchinterval(PARSE_SWITCH_INTERVAL_S)
        try:
            return parse_lines(chunk)
        finally:
            sys.setswitchinterval(switch)

    def parse_lines(chunk: TailChunk) -> tuple[list[EventMeta], int, int]:
        nonlocal progress, benchmark_id, agent, data
        plain = parse_plain_otel_lines(chunk.data, chunk.stop) if chunk.whole else None
        if plain is not None:
            events, bid, who = _plain_events(chunk.base, *plain)
            invalid = 0
        else:
            events, bid, who, invalid = line_by_line(chunk)
        steps = [PROGRESS_BY_EVENT[t] for t in {ev[1] for ev in events} if t in PROGRESS_BY_EVENT]
        # This chunk's, read when it is yielded.
        progress, benchmark_id, agent = max(steps, default=None), bid, who
        data = chunk.data if events else b""
        return events, len(events), invalid

    def line_by_line(chunk: TailChunk) -> tuple[list[EventMeta], str, str, int]:
        events: list[EventMeta] = []
        append = events.append
        invalid = 0
        bid = who = ""
        start = 1 - chunk.base  # substr() counts from 1
        # All ASCII (one C pass): every line is valid UTF-8, the cheaper parse may be used.
        parse_line = parse_ascii_otel_line if chunk.data.isascii() else parse_otel_line
        for offset, line in chunk.lines:
            try:
                event_type, ts, tool_name, line_bid, line_agent = parse_line(line)
            except InvalidInput as exc:
                invalid += 1
                log.warning("otel_line_skipped", execution_id=execution_id, offset=offset, error=str(exc)[:200])
                continue
            append((offset, event_type, ts, tool_name, offset + start, len(line)))
            if not bid:
                bid = line_bid
            if not who:
                who = line_agent
        return events, bid, who, invalid

    for events, state, replaced in tailed_chunks(name, "otel", execution_id, fd, st, known, line_max, chunk_max,
                                                 counts, parse):
        yield OtelChunk(execution_id, state, events, data, replaced, progress, benchmark_id, agent, utc_now_iso())
