"""Issue 12 item 6 (short version): streams of 1 MB events cost the daemon bounded memory, whatever the clients do."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from perf.shutdown_with_streams import open_streams
from reevd.api.streams import PAGE_BYTES, PIECE, WRITE_BUFFER_HIGH
from reevd.client import sse_events
from reevd.config import Config
from reevd.store.event_bodies import DEFAULT_BUDGET
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

EXECUTIONS = 3
BIG_EVENTS = 4  # per execution, about 1 MB each
READERS = 30
STALLED = 30
MiB = 1 << 20

# The design's bound on what streams may add, beside what ingesting the lines costs:
# - the shared bodies: at most their budget, whatever the number of streams;
# - per stream: a page of small bodies, the transport's buffer up to its high mark plus one
#   write, the piece being written, and 64 KiB for the connection's own objects;
# - ingest: a few copies of the line being parsed and written (chunk, line, text, SQLite's bind);
# - 16 MiB for SQLite's page caches and the allocator's slack.
PER_STREAM = PAGE_BYTES + WRITE_BUFFER_HIGH + 2 * PIECE + 64 * 1024
BOUND = DEFAULT_BUDGET + (READERS + STALLED) * PER_STREAM + 8 * Config.otel_line_max_bytes + 16 * MiB


def _line(execution_id: str, n: int, size: int) -> bytes:
    # Multi-byte characters throughout, so pieces are cut inside them.
    pad = ("é✓ x" * (size // 7))[: size // 2]
    return json.dumps({"timestamp": f"2026-11-21T00:00:{n:02d}Z", "session_id": execution_id, "event_type": "ToolOutput",
                       "tool_output": {"n": n, "data": pad}}, ensure_ascii=False).encode() + b"\n"


def _rss_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} missing")


def _stalled_stream(port: int, execution_id: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # takes almost nothing, and never reads
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /api/v1/executions/{execution_id}/stream HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def test_stalled_and_reading_clients_on_big_events_cost_bounded_memory(daemon_factory: Any) -> None:
    """60 streams on 1 MB events, half never reading: RSS grows less than the design's bound and readers get every event intact."""
    d = daemon_factory(extra_args=["--stream-send-timeout", "120"]).start()
    assert d.proc is not None
    ids = [f"mem-{i}" for i in range(EXECUTIONS)]
    lines: dict[str, list[tuple[int, bytes]]] = {i: [] for i in ids}
    for execution_id in ids:
        first = _line(execution_id, 0, 200)
        (d.sessions / f"enhanced_otel_{execution_id}.jsonl").write_bytes(first)
        lines[execution_id].append((0, first))
    eventually(lambda: all((d.execution(i) or {}).get("events_count") == 1 for i in ids), 20, "executions known")

    received: dict[int, list[tuple[str | None, dict[str, Any]]]] = {n: [] for n in range(READERS)}

    def read(n: int) -> None:
        for event, ident, data in sse_events(f"{d.api}/executions/{ids[n % EXECUTIONS]}/stream", timeout=60):
            if event == "otel":
                received[n].append((ident, json.loads(data)))
                if len(received[n]) == 1 + BIG_EVENTS:
                    return

    stalled = [_stalled_stream(d.port, ids[n % EXECUTIONS]) for n in range(STALLED)]
    readers = [threading.Thread(target=read, args=(n,), daemon=True) for n in range(READERS)]
    try:
        for t in readers:
            t.start()
        eventually(lambda: open_streams(d) == READERS + STALLED, 20, "every stream open")
        base_kb = _rss_kb(d.proc.pid, "VmRSS")
        for execution_id in ids:
            path = d.sessions / f"enhanced_otel_{execution_id}.jsonl"
            for n in range(1, 1 + BIG_EVENTS):
                line = _line(execution_id, n, MiB - 4096)
                lines[execution_id].append((path.stat().st_size, line))
                with open(path, "ab") as fh:
                    fh.write(line)
        for t in readers:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in readers), "a reader did not get every event"
        assert open_streams(d) >= STALLED  # the stalled clients are still held, not dropped
        growth = (_rss_kb(d.proc.pid, "VmHWM") - base_kb) * 1024
        assert growth < BOUND, f"RSS grew {growth / MiB:.1f} MiB, over the design's {BOUND / MiB:.1f} MiB"
        for n, events in received.items():
            want = lines[ids[n % EXECUTIONS]]
            assert [int(ident or -1) for ident, _ in events] == [offset for offset, _ in want]
            for (_, payload), (offset, line) in zip(events, want):
                assert payload["offset"] == offset and payload["event"] == json.loads(line)
    finally:
        for sock in stalled:
            sock.close()

