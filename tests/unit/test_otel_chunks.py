"""OTEL chunks from a real file into a real store: each kept line stored byte for byte, the rest counted.

Chunks of 201 bytes: some all ASCII (the cheaper parse), some not (the full one), lines cut across reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reevd.ingest.otel import TailCounts, otel_chunks
from reevd.store import Store

VALID = b'{"event_type":"ToolInput","timestamp":"t1","tool_input":{"tool_name":"sol_transfer"},"metadata":{"benchmark_id":"001","agent":"deterministic"}}'
NON_ASCII = '{"event_type":"Prompt","prompt":{"user_prompt":"envoie 0,1 SOL à Zoë 🚀"},"timestamp":"t2"}'.encode()
LINES = [
    VALID,
    b"not json",
    b"   ",
    b"",
    b'{"event_type":"StepComplete","timestamp":"t3"}\r',
    b'{"event_type":"A","x":"\xff"}',  # invalid UTF-8 inside a string: orjson refuses it
    b"[]",
    b"x" * 300,  # over the line bound
    NON_ASCII,
    b'{"failed_tools":0,"total_events":3,"logged_at":"t4"}',
]


async def test_kept_lines_are_stored_byte_for_byte_and_the_rest_counted(tmp_path: Path) -> None:
    """Valid lines (ASCII or not, CRLF) become events whose bodies are exactly their bytes; invalid, blank and over-long lines are counted or skipped as before."""
    path = tmp_path / "enhanced_otel_e1.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n")
    fd = os.open(path, os.O_RDONLY)
    counts = TailCounts()
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        for op in otel_chunks(path.name, "e1", fd, os.fstat(fd), None, 200, 201, counts):
            await store.writer.write(op)
        page, more = await store.reader.events("e1", -1, 100, max_bytes=10**6)
        row = await store.reader.execution("e1")
    finally:
        os.close(fd)
        await store.close()
    starts = [sum(len(line) + 1 for line in LINES[:i]) for i in range(len(LINES))]
    assert not more
    assert [(e["offset"], e["event_type"], e["ts"], e["tool_name"]) for e in page] == [
        (starts[0], "ToolInput", "t1", "sol_transfer"),
        (starts[4], "StepComplete", "t3", None),
        (starts[8], "Prompt", "t2", None),
        (starts[9], "SessionSummary", "t4", None),
    ]
    assert [e["body"] for e in page] == [VALID.decode(), '{"event_type":"StepComplete","timestamp":"t3"}', NON_ASCII.decode(),
                                          '{"failed_tools":0,"total_events":3,"logged_at":"t4"}']
    assert (counts.lines, counts.invalid, counts.oversize) == (4, 3, 1)
    assert row is not None and row["events_count"] == 4 and row["benchmark_id"] == "001" and row["agent"] == "deterministic"
    assert row["progress"] == 0.9 and row["last_event_type"] == "SessionSummary"


PLAIN = b'{"event_type":"ToolOutput","timestamp":"t","metadata":{"benchmark_id":"001","agent":"deterministic"}}'


@pytest.mark.parametrize("chunk", [
    PLAIN + b"\n" + PLAIN + b"\n",  # plain: read whole
    b'{"event_type":"A"} {"event_type":"B"}\n{"event_type":\n"C"}\n',  # two values on a line, one across two: as many values as lines
    PLAIN + b"\n\n" + PLAIN + b"\n",  # an empty line
    PLAIN + b"\n  \n" + PLAIN + b"\n",  # a line of spaces
    PLAIN + b"\r\n" + PLAIN + b"\n",  # CRLF
    PLAIN + b"\n" + b'{"event_type":"' + b"E" * 65 + b'"}\n',  # an event type cut to 64
    PLAIN + b"\n" + b'{"failed_tools":0,"total_events":3,"logged_at":"t4"}\n',  # upstream's summary
    PLAIN + b"\n" + b'{"event_type":"A","tool_input":"x","metadata":[]}\n',  # other shapes, dropped
    PLAIN + b"\n" + b'{"event_type":"A","timestamp":5}\n',
    PLAIN + b"\n" + b'{"event_type":"A","o":[1,]}\n',  # not JSON
    PLAIN + b"\n" + b'{"event_type":"A","o":"\\u00e9"} \n',  # a space after the value
    PLAIN + b"\n" + '{"event_type":"Prompt","o":"é"}\n'.encode(),  # not ASCII
])
@pytest.mark.parametrize("piece", [1 << 17, 1])
def test_whole_chunk_parse_agrees_with_line_by_line(tmp_path: Path, chunk: bytes, piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk read whole (msgspec calls over pieces of lines) gives exactly the events, counts and names the line-by-line parse gives, or is refused to it."""
    from reevd.ingest import parse
    from reevd.ingest.parse import InvalidInput, parse_otel_line

    monkeypatch.setattr(parse, "DECODE_PIECE", piece)

    path = tmp_path / "enhanced_otel_e1.jsonl"
    path.write_bytes(chunk)
    fd = os.open(path, os.O_RDONLY)
    try:
        counts = TailCounts()
        ops = list(otel_chunks(path.name, "e1", fd, os.fstat(fd), None, 1 << 20, (1 << 20) + 1, counts))
    finally:
        os.close(fd)
    expected, invalid, at = [], 0, 0
    for raw in chunk.split(b"\n")[:-1]:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line.strip():
            try:
                event_type, ts, tool_name, _, _ = parse_otel_line(line)
                expected.append((at, event_type, ts, tool_name, at + 1, len(line)))
            except InvalidInput:
                invalid += 1
        at += len(raw) + 1
    assert len(ops) == 1
    assert ops[0].events == expected and (counts.lines, counts.invalid) == (len(expected), invalid)
    assert [ops[0].data[s - 1:s - 1 + n] for _, _, _, _, s, n in ops[0].events] == [
        chunk[o:o + n] for o, _, _, _, _, n in expected]
    assert (ops[0].benchmark_id, ops[0].agent) == (("001", "deterministic") if PLAIN in chunk else ("", ""))


@pytest.mark.parametrize("piece", [1 << 17, 1])
def test_plain_lines_are_read_whole(piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's plain lines take the whole-chunk path, in one piece or one per line (the agreement test above would pass without it)."""
    from reevd.ingest import parse
    from reevd.ingest.parse import parse_plain_otel_lines

    monkeypatch.setattr(parse, "DECODE_PIECE", piece)
    data = PLAIN + b"\n" + PLAIN + b"\n" + b'{"event_type":"partial'
    parsed = parse_plain_otel_lines(data, 2 * len(PLAIN) + 1)
    assert parsed is not None
    lines, lengths = parsed
    assert [ln.event_type for ln in lines] == ["ToolOutput", "ToolOutput"] and lengths == [len(PLAIN), len(PLAIN)]
