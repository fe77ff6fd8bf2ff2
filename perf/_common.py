"""Shared helpers for the daemon perf scripts (not tests): a daemon on a temp root, a
persistent HTTP client, /proc sampling, percentiles and the figures table."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import Daemon  # noqa: E402  (a real `python -m reevd serve` subprocess)

__all__ = ["ROOT", "Daemon", "Client", "Part", "run_parts", "pct", "Table", "ProcSampler", "cpu_seconds", "wait_fork_server", "db_ro", "overflow_rescans", "stop"]


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


class Client:
    """One keep-alive HTTP connection, so connection setup stays out of the figures."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                if attempt:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def close(self) -> None:
        self.conn.close()


def db_ro(root: Path) -> sqlite3.Connection:
    """Read-only connection to the daemon's database (WAL: readers never block the writer)."""
    path = root / "db" / "reevd.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class ProcSampler(threading.Thread):
    """Samples VmRSS and VmHWM (kB) of one process every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.rss_kb: list[int] = []
        self.hwm_kb = 0
        self._halt = threading.Event()

    def read(self) -> tuple[int, int]:
        rss = hwm = 0
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return rss, hwm

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                rss, hwm = self.read()
            except OSError:
                return
            self.rss_kb.append(rss)
            self.hwm_kb = max(self.hwm_kb, hwm)
            self._halt.wait(self.interval)

    def halt(self) -> None:
        self._halt.set()
        self.join()


def overflow_rescans(client: Client, daemon: Daemon) -> tuple[int, str]:
    """Overflow rescans so far: from GET /metrics when it exists, else the daemon log."""
    try:
        status, body = client.get("/metrics")
        if status == 200 and isinstance(body, str):
            m = re.search(r"^reevd_watcher_overflow_rescans_total\s+([0-9.e+]+)", body, re.M)
            if m:
                return int(float(m.group(1))), "metrics"
    except Exception:  # noqa: BLE001 - fall back to the log
        pass
    return daemon.log_path.read_text(errors="replace").count("watcher_overflow_rescan"), "log"


def stop(daemon: Daemon) -> None:
    daemon.stop(signal.SIGTERM)


class Table:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(self, name: str, median: str, tail: str, target: str, ok: bool | None, note: str = "") -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append((name, median, tail, target, verdict, note))

    def print(self) -> None:
        head = ("figure", "median", "p95 / p99", "target", "", "note")
        widths = [max(len(str(r[i])) for r in [head, *self.rows]) for i in range(6)]
        print(f"\n== {self.title} ==")
        for r in [head, *self.rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def wait_fork_server(d: Daemon, timeout: float = 60) -> bool:
    """Wait until the daemon's runner fork server is ready (False when it runs without one:
    REEVD_FORK_SERVER=0 or an explicit --runner-cmd), so start-up is not counted in a figure."""
    if os.environ.get("REEVD_FORK_SERVER") == "0" or "--runner-cmd" in d.extra_args:
        return False
    return wait_for(lambda: d.events("forkserver_ready"), timeout=timeout, interval=0.05) is not None


def wait_for(check: Any, timeout: float, interval: float = 0.01) -> float | None:
    """Poll `check()` until truthy; the perf_counter time it became so, or None on timeout."""
    deadline = time.perf_counter() + timeout
    while True:
        if check():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            return None
        time.sleep(interval)


Part = Callable[[Path, "Table"], None]


def run_parts(description: str, name: str, quick_help: str, parts: Callable[[bool], dict[str, Part]]) -> None:
    """The shared driver of the perf scripts: --quick, --only, a temp folder, one figures table."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--only", default=None, help="comma-separated parts to run (default: all)")
    args = ap.parse_args()
    chosen = parts(args.quick)
    only = set(args.only.split(",")) if args.only else set(chosen)
    unknown = only - set(chosen)
    if unknown:
        ap.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(chosen)}")
    table = Table(f"reevd {name} perf ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"reevd-{name}-perf-") as t:
        for key, part in chosen.items():
            if key in only:
                part(Path(t), table)
    table.print()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
