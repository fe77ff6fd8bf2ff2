"""reevd launch performance (issue 4). Not a test: prints figures against the targets.

(a) POST /api/v1/benchmarks/001-sol-transfer/run -> `Completed` visible through GET (the
    client polls GET over one keep-alive connection): p50 <= 300 ms, p99 <= 600 ms; sequential
    runs with the real runner on a temp copy of benchmarks/;
(b) runs per minute sustained with the default concurrency limit (= CPUs): N runs posted at
    once, timed from the first POST until all are terminal (read-only SQLite count): >= 300/min;
(c) daemon CPU while runs are in flight but idle (a stub runner that only sleeps): utime+stime
    of the daemon from /proc/<pid>/stat over a window, in CPU seconds per second: ~0.

Runs fork from the runner fork server when the daemon uses its default runner (the figures
wait for it to be ready); REEVD_FORK_SERVER=0 in the environment measures fresh processes.

Usage: [REEVD_FORK_SERVER=0] .venv/bin/python perf/launch_perf.py [--quick] [--only a,b,c,d]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Client, Daemon, Part, Table, run_parts, cpu_seconds, db_ro, median, pct, stop, wait_for, wait_fork_server  # noqa: E402

from tests.helpers import write_stub_runner  # noqa: E402

BENCH = "001-sol-transfer"
TERMINAL = ("Completed", "Failed", "Stopped", "Timeout")


def make_root(tmp: Path, name: str) -> Path:
    root = tmp / name
    root.mkdir()
    shutil.copytree(ROOT / "benchmarks", root / "benchmarks")
    return root


def post_run(client: Client, body: dict[str, object] | None = None) -> str:
    status, payload = client.request("POST", f"/api/v1/benchmarks/{BENCH}/run", body or {"agent": "deterministic"})
    if status not in (200, 201, 202):
        raise RuntimeError(f"POST run: {status} {payload}")
    return str(payload["execution_id"])


def wait_status(client: Client, execution_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict[str, object]:
    deadline = time.perf_counter() + timeout
    while True:
        status, body = client.get(f"/api/v1/executions/{execution_id}")
        if status == 200 and body.get("status") in statuses:
            return body
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{execution_id}: still {body} after {timeout} s")
        time.sleep(0.001)  # the client's polling only; the daemon itself never polls


def part_a(tmp: Path, n: int, table: Table) -> None:
    d = Daemon(root=make_root(tmp, "a")).start()
    client = Client(d.port)
    try:
        for _ in range(3):  # warm the page cache and the runner's imports
            wait_status(client, post_run(client), TERMINAL)
        lat: list[float] = []
        bad = 0
        for _ in range(n):
            t0 = time.perf_counter()
            body = wait_status(client, post_run(client), TERMINAL)
            lat.append((time.perf_counter() - t0) * 1000)
            bad += body["status"] != "Completed"
        post: list[float] = []  # the POST alone: the response must come at once
        for _ in range(10):
            t0 = time.perf_counter()
            eid = post_run(client)
            post.append((time.perf_counter() - t0) * 1000)
            wait_status(client, eid, TERMINAL)
        table.add(f"(a) POST run -> Completed via GET, n={n}: p50", f"{median(lat):.0f} ms", f"p95 {pct(lat, 95):.0f} ms", "p50 <= 300 ms", median(lat) <= 300,
                  f"{bad} not Completed" if bad else "all Completed")
        table.add("(a) POST run -> Completed: p99", f"{pct(lat, 99):.0f} ms", f"max {max(lat):.0f} ms", "p99 <= 600 ms", pct(lat, 99) <= 600)
        table.add("(a) POST run response alone", f"{median(post):.1f} ms", f"max {max(post):.1f} ms", "", None)
    finally:
        client.close()
        stop(d)


def run_burst(tmp: Path, name: str, n: int) -> tuple[float, int, int]:
    d = Daemon(root=make_root(tmp, name)).start()
    wait_fork_server(d)
    client = Client(d.port)
    try:
        db = db_ro(d.root)
        marks = ",".join(f"'{s}'" for s in TERMINAL)
        t0 = time.perf_counter()
        for _ in range(n):
            post_run(client)
        t_done = wait_for(lambda: db.execute(f"SELECT count(*) FROM executions WHERE status IN ({marks})").fetchone()[0] >= n, timeout=240, interval=0.02)
        elapsed = (t_done or time.perf_counter()) - t0
        completed = db.execute("SELECT count(*) FROM executions WHERE status = 'Completed'").fetchone()[0]
        db.close()
        return n / elapsed * 60, completed, (os.cpu_count() or 2)
    finally:
        client.close()
        stop(d)


def part_b(tmp: Path, n: int, repeats: int, table: Table) -> None:
    runs = [run_burst(tmp, f"b{r}", n) for r in range(repeats)]
    rates = [r[0] for r in runs]
    completed = min(r[1] for r in runs)
    table.add(f"(b) {n} runs posted at once, limit {runs[0][2]} (default)", f"{median(rates):.0f}/min", f"min {min(rates):.0f}/min", ">= 300/min", median(rates) >= 300,
              "runs: " + ", ".join(f"{x:.0f}" for x in rates) + f"; Completed {completed}/{n} (worst run)")


def part_c(tmp: Path, n: int, window: float, table: Table) -> None:
    root = make_root(tmp, "c")
    runner = write_stub_runner(root / "sleeper.py", "time.sleep(60)\n")
    d = Daemon(root=root, extra_args=["--runner-cmd", " ".join(runner), "--max-concurrency", str(n)]).start()
    client = Client(d.port)
    assert d.proc is not None
    pid = d.proc.pid
    try:
        time.sleep(1.0)  # let start-up work (catalog sync, first metrics refresh) settle
        c0 = cpu_seconds(pid)
        time.sleep(window)
        idle = (cpu_seconds(pid) - c0) / window
        ids = [post_run(client) for _ in range(n)]
        for eid in ids:
            wait_status(client, eid, ("Running",))
        time.sleep(0.5)
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        time.sleep(window)
        busy = (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)
        for eid in ids:
            client.request("POST", f"/api/v1/executions/{eid}/cancel", {})
        for eid in ids:
            wait_status(client, eid, TERMINAL)
        clk = os.sysconf("SC_CLK_TCK")
        table.add(f"(c) daemon CPU, {n} sleeping runs in flight", f"{busy:.4f} CPU-s/s", f"{window:.0f} s window", "~0", busy < 0.01,
                  f"resolution {1 / clk / window:.4f}; idle daemon, no runs: {idle:.4f} CPU-s/s")
    finally:
        client.close()
        stop(d)


def part_d(tmp: Path, n: int, table: Table) -> None:
    """A runner killed with -9: time from the kill to Failed (with the signal) visible over HTTP."""
    root = make_root(tmp, "d")
    runner = write_stub_runner(root / "hang.py", "open(os.path.join(os.getcwd(), args[2].split('=', 1)[1] + '.pid'), 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    d = Daemon(root=root, extra_args=["--runner-cmd", " ".join(runner)]).start()
    client = Client(d.port)
    samples: list[float] = []
    try:
        for _ in range(n):
            eid = post_run(client)
            pid_file = root / f"{eid}.pid"
            wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=10)
            pid = int(pid_file.read_text())
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            row = wait_status(client, eid, TERMINAL)
            samples.append((time.perf_counter() - t0) * 1000)
            assert row["status"] == "Failed" and "SIGKILL" in str(row["error_message"]), row
        table.add(f"(d) runner kill -9 -> Failed via GET, n={n}", f"{median(samples):.1f} ms", f"max {max(samples):.1f} ms",
                  "<= 100 ms", pct(samples, 95) <= 100, "signal named in error_message")
    finally:
        client.close()
        stop(d)


def main() -> None:
    def parts(quick: bool) -> dict[str, Part]:
        n_a, n_b, repeats, window = (10, 40, 1, 2.0) if quick else (40, 200, 2, 5.0)
        return {
            "a": lambda tmp, table: part_a(tmp, n_a, table),
            "b": lambda tmp, table: part_b(tmp, n_b, repeats, table),
            "c": lambda tmp, table: part_c(tmp, 16, window, table),
            "d": lambda tmp, table: part_d(tmp, 5 if quick else 20, table),
        }

    run_parts(__doc__.split("\n")[0], "launch", "smaller run: 10 sequential runs, 40-run burst once, 2 s CPU window, 5 kills", parts)


if __name__ == "__main__":
    main()
