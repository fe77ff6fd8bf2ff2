"""SIGTERM -> exit time of a real daemon with N Server-Sent Event streams open (field notes, aiohttp).

Usage: .venv/bin/python perf/shutdown_with_streams.py [streams=50] [repeats=5]
Prints one line per repeat and the median; the issue's bound is < 2 s.
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


def measure(streams: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = Daemon(Path(tmp)).start()
        socks = [open_stream(daemon.port) for _ in range(streams)]
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
    times = []
    for i in range(repeats):
        t = measure(streams)
        times.append(t)
        print(f"run {i + 1}: {streams} streams open, SIGTERM -> exit {t * 1000:.0f} ms")
    print(f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (bound: 2000 ms)")


if __name__ == "__main__":
    main()
