"""OTEL chunks from a real file into a real store: each kept line stored byte for byte, the rest counted.

Chunks of 201 bytes: some all ASCII (the cheaper parse), some not (the full one), lines cut across reads.
"""

from __future__ import annotations

import os
from pathlib import Path

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
