"""Behaviour 8: streams cost bounded resources: a cap on open streams, non-reading clients dropped."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from perf.shutdown_with_streams import open_stream, open_streams
from tests.helpers import eventually, http

pytestmark = pytest.mark.e2e


def test_streams_past_the_cap_get_503(daemon_factory) -> None:
    """With --max-streams 3, a fourth stream is refused with a JSON 503; closing one frees a slot."""
    d = daemon_factory(extra_args=["--max-streams", "3"]).start()
    socks = [open_stream(d.port) for _ in range(3)]
    try:
        eventually(lambda: open_streams(d) == 3, 10, "three streams open")
        status, body, _ = http("GET", f"{d.api}/stream", timeout=5)
        assert status == 503 and body["error"] == "too_many_streams" and "max-streams" in body["message"]
        socks.pop().close()
        eventually(lambda: open_streams(d) == 2, 10, "a slot freed")
        socks.append(open_stream(d.port))
    finally:
        for s in socks:
            s.close()


def _big_otel(path: Path, execution_id: str, lines: int = 240, size: int = 48_000) -> None:
    pad = "x" * size
    with open(path, "w") as fh:
        for n in range(lines):
            fh.write(json.dumps({"timestamp": "2026-11-21T00:00:00Z", "session_id": execution_id,
                                 "event_type": "ToolInput", "tool_input": {"tool_name": "t", "pad": pad},
                                 "metadata": {"n": n}}) + "\n")


def test_client_that_does_not_read_is_dropped(daemon_factory) -> None:
    """A stream client that takes no data within the send timeout is dropped, logged, and its slot freed."""
    d = daemon_factory(extra_args=["--stream-send-timeout", "1"]).start()
    _big_otel(d.sessions / "enhanced_otel_big.jsonl", "big")
    eventually(lambda: (d.execution("big") or {}).get("events_count") == 240, 20, "11 MB of events ingested")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads nothing
    sock.connect(("127.0.0.1", d.port))
    try:
        sock.sendall(b"GET /api/v1/executions/big/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        eventually(lambda: "stream_client_dropped" in d.log_path.read_text(errors="replace"), 20, "the drop logged")
        eventually(lambda: open_streams(d) == 0, 10, "its slot freed")
        assert http("GET", f"{d.api}/health")[0] == 200
    finally:
        sock.close()
