"""SIGTERM -> exit time of a real daemon with N Server-Sent Event streams open (field notes, aiohttp).

Usage: .venv/bin/python perf/shutdown_with_streams.py [streams=50] [repeats=5] [non_reading=0]
`non_reading` of the streams follow a run with 11 MB of events and never read (issue 10 item 8:
500 streams, readers or not, exit in <= 2 s). Prints one line per repeat and the median.
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import Daemon, eventually, http  # noqa: E402


def open_stream(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    head = b""
    while b": connected" not in head:
        head += sock.recv(4096)
    return sock


def open_streams(daemon: Daemon) -> int:
    _, text, _ = http("GET", f"{daemon.url}/metrics")
    line = next(line for line in text.splitlines() if line.startswith("reevd_streams_open "))
    return int(float(line.split()[1]))


def open_stuck_stream(port: int) -> socket.socket:
    """A client that asks for a big run's events and never reads them."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /api/v1/executions/big/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def big_run(daemon: Daemon) -> None:
    import json

    pad = "x" * 48_000
    with open(daemon.sessions / "enhanced_otel_big.jsonl", "w") as fh:
        for n in range(240):
            fh.write(json.dumps({"timestamp": "2026-11-21T00:00:00Z", "session_id": "big", "event_type": "ToolInput",
                                 "tool_input": {"tool_name": "t", "pad": pad}, "metadata": {"n": n}}) + "\n")
    eventually(lambda: http("GET", f"{daemon.api}/executions/big")[1].get("events_count") == 240, 30, "big run ingested")


def measure(streams: int, non_reading: int = 0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(Path(tmp), extra_args=["--max-streams", str(max(500, streams))]).start()
        if non_reading:
            big_run(daemon)
        socks = [open_stream(daemon.port) for _ in range(streams - non_reading)]
        socks += [open_stuck_stream(daemon.port) for _ in range(non_reading)]
        eventually(lambda: open_streams(daemon) == streams, 10, "streams open")
        assert daemon.proc is not None
        started = time.monotonic()
        daemon.proc.terminate()
        daemon.proc.wait(30)
        elapsed = time.monotonic() - started
        for s in socks:
            s.close()
        return elapsed


def main() -> None:
    streams = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    non_reading = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    times = []
    for i in range(repeats):
        t = measure(streams, non_reading)
        times.append(t)
        print(f"run {i + 1}: {streams} streams open ({non_reading} not reading), SIGTERM -> exit {t * 1000:.0f} ms")
    print(f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (bound: 2000 ms)")


if __name__ == "__main__":
    main()
