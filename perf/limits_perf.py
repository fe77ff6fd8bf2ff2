"""reevd beside the machine's own limits (issue 12). Not a test: prints, for each item, reevd's
figure, the floor measured in the same run, and reevd's share of it.

(1) feedback: a session file renamed in -> visible through GET (p50 <= 1.5 ms, p99 <= 5 ms) and
    -> pushed to an open SSE client (p50 <= 1 ms); floors: watchdog alone (rename -> callback on
    an asyncio loop, in this process) and a GET of an existing id; samples interleaved;
(2) status reads: `GET /api/v1/executions/{id}` and `/api/v1/benchmarks/{bid}/status/{id}` with
    wrk pinned to CPU 1, the server pinned to CPU 0, against bare aiohttp serving the same bytes
    on the same core, alternated in the same run: >= 0.6 x bare;
(3) one OTEL file of 1,000,000 lines (~500 B) -> all events committed, against a bare sqlite3
    `executemany` of the already-parsed rows into the same table (5,000 per transaction): >= 0.8 x;
    daemon RSS peak <= 80 MB;
(4) burst: 20,000 session + 20,000 OTEL files written by 4 processes -> all visible <= 8 s, none
    lost, RSS <= 100 MB; beside it the writers' own time and a bare read + parse + insert;
(5) runs per minute through the daemon (deterministic agent, default concurrency = CPUs) against
    CPUs / whole-process runner time, measured in the same run: >= 0.9 x;
(6) 500 SSE clients, half not reading (a 4 KiB receive buffer: they stall at once), on executions
    with 1 MB events: daemon RSS <= 150 MB, SIGTERM -> exit <= 2 s.

Usage: .venv/bin/python perf/limits_perf.py [--quick] [--only 1,2,3,4,5,6]
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import selectors
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Client, Daemon, Part, ProcSampler, Table, db_ro, median, pct, run_parts, stop, wait_for  # noqa: E402
from ingest_perf import big_otel_lines, otel_bytes, session_bytes, start_burst_writers, wait_burst_visible  # noqa: E402
from launch_perf import make_root, post_run  # noqa: E402

from tests.helpers import free_port  # noqa: E402

CPUS = os.cpu_count() or 1


def spread(xs: list[float], fmt: str = "{:.2f}") -> str:
    return "runs: " + ", ".join(fmt.format(x) for x in xs)


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` (threads made later inherit it from their creator)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def fresh_daemon(tmp: Path, name: str, extra: list[str] | None = None) -> Daemon:
    root = tmp / name
    root.mkdir()
    return Daemon(root=root, extra_args=extra or []).start()


# --- (1) feedback latency -------------------------------------------------------------------


class WatchdogFloor:
    """watchdog alone: an observer whose handler hands the event to an asyncio loop, which
    records the time it ran. What reevd's own watcher does before any ingest work."""

    def __init__(self, folder: Path) -> None:
        from watchdog.events import FileMovedEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.seen: dict[str, float] = {}
        self.arrived = threading.Event()
        loop, seen, arrived = self.loop, self.seen, self.arrived

        def on_loop(name: str) -> None:
            seen[name] = time.perf_counter()
            arrived.set()

        class Handoff(FileSystemEventHandler):
            def on_any_event(self, event: object) -> None:
                if isinstance(event, FileMovedEvent):
                    loop.call_soon_threadsafe(on_loop, os.path.basename(os.fsdecode(event.dest_path)))

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.observer = Observer()
        self.observer.schedule(Handoff(), str(folder), recursive=False, event_filter=[FileMovedEvent])
        self.observer.start()

    def sample(self, name: str, data: bytes) -> float:
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(data)
        self.arrived.clear()
        t0 = time.perf_counter()
        os.replace(tmp, self.folder / name)
        while name not in self.seen:
            if not self.arrived.wait(5):
                raise RuntimeError("watchdog floor: no event within 5 s")
            self.arrived.clear()
        return (self.seen.pop(name) - t0) * 1000

    def close(self) -> None:
        self.observer.stop()
        self.observer.join()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class SseFeed:
    """A raw socket on GET /api/v1/stream (every status change), read frame by frame."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        self.buf = b""
        while b": connected" not in self.buf:
            self.buf += self.sock.recv(65536)
        self.buf = b""

    def drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while self.sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        self.buf = b""

    def wait_for(self, needle: bytes, also: bytes) -> float:
        """perf_counter time when a frame holding both byte strings arrived."""
        while True:
            while b"\n\n" in self.buf:
                frame, _, self.buf = self.buf.partition(b"\n\n")
                if needle in frame and also in frame:
                    return time.perf_counter()
            data = self.sock.recv(1 << 20)
            if not data:
                raise RuntimeError("SSE feed closed")
            self.buf += data

    def close(self) -> None:
        self.sock.close()


def part_1(tmp: Path, n: int, rounds: int, table: Table) -> None:
    d = fresh_daemon(tmp, "f1")
    floor_dir = tmp / "f1-floor"
    floor_dir.mkdir()
    floor = WatchdogFloor(floor_dir)
    client = Client(d.port)
    feed = SseFeed(d.port)
    res: dict[str, list[list[float]]] = {k: [] for k in ("wd", "get", "sse", "existing")}
    try:
        sessions = d.sessions
        seq = 0
        last_get = [""]

        def one_get() -> float:
            nonlocal seq
            seq += 1
            ident = f"fb-g-{seq:06d}"
            last_get[0] = ident
            tmp_file = sessions / f".session_{ident}.json.tmp"
            tmp_file.write_bytes(session_bytes(ident))
            path = f"/api/v1/executions/{ident}"
            t0 = time.perf_counter()
            os.replace(tmp_file, sessions / f"session_{ident}.json")
            while True:
                status, body = client.get(path)
                if status == 200 and body.get("status") == "Completed":
                    return (time.perf_counter() - t0) * 1000

        def one_sse() -> float:
            nonlocal seq
            seq += 1
            ident = f"fb-s-{seq:06d}"
            tmp_file = sessions / f".session_{ident}.json.tmp"
            tmp_file.write_bytes(session_bytes(ident))
            feed.drain()
            t0 = time.perf_counter()
            os.replace(tmp_file, sessions / f"session_{ident}.json")
            return (feed.wait_for(f'"execution_id":"{ident}"'.encode(), b'"status":"Completed"') - t0) * 1000

        def one_existing() -> float:
            t0 = time.perf_counter()
            status, _ = client.get(f"/api/v1/executions/{last_get[0]}")
            elapsed = (time.perf_counter() - t0) * 1000
            assert status == 200, status
            return elapsed

        for _ in range(20):  # warm up every path
            floor.sample(f"session_warm-{seq}.json", b"{}")
            one_get(), one_sse(), one_existing()
        for _ in range(rounds):
            got: dict[str, list[float]] = {k: [] for k in res}
            for i in range(n):
                got["wd"].append(floor.sample(f"session_floor-{seq}-{i}.json", session_bytes("floor")))
                got["get"].append(one_get())
                got["sse"].append(one_sse())
                got["existing"].append(one_existing())
            for k in res:
                res[k].append(got[k])
    finally:
        feed.close()
        client.close()
        floor.close()
        stop(d)

    def flat(k: str) -> list[float]:
        return [x for r in res[k] for x in r]

    def p50s(k: str) -> list[float]:
        return [median(r) for r in res[k]]

    wd, get, sse, ex = flat("wd"), flat("get"), flat("sse"), flat("existing")
    floor_get = median(wd) + median(ex)
    total = n * rounds
    table.add(f"(1) rename -> GET visible, n={total}: p50", f"{median(get):.2f} ms", f"p99 {pct(get, 99):.2f} ms", "p50 <= 1.5 ms, p99 <= 5 ms",
              median(get) <= 1.5 and pct(get, 99) <= 5, f"{median(get) / floor_get:.1f} x floor (watchdog + GET existing, {floor_get:.2f} ms); p50 {spread(p50s('get'))}")
    table.add(f"(1) rename -> SSE pushed, n={total}: p50", f"{median(sse):.2f} ms", f"p99 {pct(sse, 99):.2f} ms", "p50 <= 1 ms", median(sse) <= 1,
              f"{median(sse) / median(wd):.1f} x floor (watchdog alone); p50 {spread(p50s('sse'))}")
    table.add("(1) floor: watchdog rename -> loop callback", f"{median(wd):.2f} ms", f"p99 {pct(wd, 99):.2f} ms", "", None, f"p50 {spread(p50s('wd'))}")
    table.add("(1) floor: GET of an existing id", f"{median(ex):.2f} ms", f"p99 {pct(ex, 99):.2f} ms", "", None, f"p50 {spread(p50s('existing'))}")


# --- (2) status reads -----------------------------------------------------------------------

BARE_SERVER = r"""
import sys
from aiohttp import web
port, exec_path, status_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
bodies = {exec_path: open(sys.argv[4], 'rb').read(), status_path: open(sys.argv[5], 'rb').read()}
async def handle(request):
    body = bodies.get(request.path)
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type='application/json')
app = web.Application()
app.router.add_get('/api/v1/executions/{execution_id}', handle)
app.router.add_get('/api/v1/benchmarks/{benchmark_id}/status/{execution_id}', handle)
web.run_app(app, host='127.0.0.1', port=port, access_log=None, print=None, handle_signals=True)
"""


def wrk(url: str, seconds: float, connections: int) -> tuple[float, float]:
    """(requests/s, p99 latency ms) from wrk pinned to the last CPU."""
    cmd = ["taskset", "-c", str(CPUS - 1), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
    return rps, p99


def raw_get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status} {body[:200]!r}")
    return body


def part_2(tmp: Path, seconds: float, rounds: int, table: Table) -> None:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        table.add("(2) status reads", "skipped", "", "", None, "needs wrk and taskset (apt-get install wrk)")
        return
    server_cpu = {0}
    d = fresh_daemon(tmp, "f2")
    bare = None
    try:
        ident = "status-read-1"
        (d.sessions / f"enhanced_otel_{ident}.jsonl").write_bytes(otel_bytes(ident))
        (d.sessions / f".s.tmp").write_bytes(session_bytes(ident))
        os.replace(d.sessions / ".s.tmp", d.sessions / f"session_{ident}.json")
        client = Client(d.port)
        wait_for(lambda: client.get(f"/api/v1/executions/{ident}")[1].get("status") == "Completed", timeout=10)
        client.close()
        exec_path = f"/api/v1/executions/{ident}"
        status_path = f"/api/v1/benchmarks/001-sol-transfer/status/{ident}"
        bodies = tmp / "f2-bodies"
        bodies.mkdir()
        (bodies / "exec.json").write_bytes(raw_get(d.port, exec_path))
        (bodies / "status.json").write_bytes(raw_get(d.port, status_path))
        size = len((bodies / "exec.json").read_bytes())
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port), exec_path, status_path,
                                 str(bodies / "exec.json"), str(bodies / "status.json")])
        wait_for(lambda: _port_open(bare_port), timeout=10)
        assert d.proc is not None
        pin(d.proc.pid, server_cpu)
        pin(bare.pid, server_cpu)
        if raw_get(bare_port, exec_path) != (bodies / "exec.json").read_bytes():
            raise RuntimeError("bare server does not serve the same body")
        conns = 32
        res: dict[str, list[float]] = {}
        p99s: dict[str, list[float]] = {}
        for label, port, path in (("bare exec", bare_port, exec_path), ("reevd exec", d.port, exec_path),
                                  ("bare status", bare_port, status_path), ("reevd status", d.port, status_path)):
            wrk(f"http://127.0.0.1:{port}{path}", 1, conns)  # warm up
            res[label], p99s[label] = [], []
        for _ in range(rounds):
            for label, port, path in (("bare exec", bare_port, exec_path), ("reevd exec", d.port, exec_path),
                                      ("bare status", bare_port, status_path), ("reevd status", d.port, status_path)):
                rps, p99 = wrk(f"http://127.0.0.1:{port}{path}", seconds, conns)
                res[label].append(rps)
                p99s[label].append(p99)
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        stop(d)
    for what, route in (("exec", "GET /executions/{id}"), ("status", "GET /benchmarks/{bid}/status/{id}")):
        ours, theirs = res[f"reevd {what}"], res[f"bare {what}"]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        table.add(f"(2) {route}, {size} B body", f"{median(ours):,.0f} req/s", f"p99 {median(p99s[f'reevd {what}']):.2f} ms", ">= 0.6 x bare",
                  median(ratios) >= 0.6, f"{median(ratios):.2f} x bare ({median(theirs):,.0f} req/s); ratios {', '.join(f'{r:.2f}' for r in ratios)}")
    table.add("(2) floor: bare aiohttp, same body, same core", f"{median(res['bare exec']):,.0f} req/s", f"p99 {median(p99s['bare exec']):.2f} ms", "", None,
              f"wrk -t1 -c{conns} {seconds:g} s x {rounds}, pinned to CPU {CPUS - 1}; servers on CPU 0; " + spread(res["bare exec"], "{:,.0f}"))


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


# --- (3) one big OTEL file ------------------------------------------------------------------


def parsed_rows(data: bytes, ident: str, columns: list[str]) -> list[tuple[object, ...]]:
    """The rows reevd stores for each line, parsed up front (the floor times only the write)."""
    out = []
    offset = 0
    for line in data.splitlines(keepends=True):
        doc = orjson.loads(line)
        tool_input = doc.get("tool_input")
        values = {
            "execution_id": ident, "offset": offset, "event_type": doc["event_type"], "ts": doc.get("timestamp"),
            "tool_name": tool_input.get("tool_name") if isinstance(tool_input, dict) else None,
            "body": line.rstrip(b"\n").decode(),
        }
        out.append(tuple(values.get(c) for c in columns))
        offset += len(line)
    return out


def events_schema(db: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """The daemon's own events table: its columns and every CREATE statement (table + indexes)."""
    columns = [r[1] for r in db.execute("PRAGMA table_info(events)")]
    ddl = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL ORDER BY type DESC")]
    return columns, ddl


def bare_write(path: Path, ddl: list[str], columns: list[str], rows: list[tuple[object, ...]], per_txn: int = 5000,
               checkpoints: bool = True) -> float:
    """sqlite3 executemany of already-parsed rows, `per_txn` per transaction: rows/s. With
    SQLite's auto-checkpoint (the floor), or with none at all (a bound on what moving them off
    the writing thread can give: the daemon's store/checkpointer.py)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if not checkpoints:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    for sql in ddl:
        conn.execute(sql)
    sql = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    t0 = time.perf_counter()
    for i in range(0, len(rows), per_txn):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows[i : i + per_txn])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(rows) / elapsed


def part_3(tmp: Path, n_lines: int, repeats: int, table: Table) -> None:
    from ingest_perf import part_c_once

    ident = "bigotel-1"
    data = big_otel_lines(ident, n_lines)
    avg = len(data) / n_lines
    ours: list[dict[str, float]] = []
    floors: list[float] = []
    no_checkpoints: list[float] = []
    rows: list[tuple[object, ...]] | None = None
    for r in range(repeats):
        run = part_c_once(tmp, f"f3-{r}", data, n_lines, ident)
        ours.append(run)
        db = db_ro(tmp / f"f3-{r}")
        columns, ddl = events_schema(db)
        db.close()
        shutil.rmtree(tmp / f"f3-{r}", ignore_errors=True)
        if rows is None:
            rows = parsed_rows(data, ident, columns)
        for checkpoints, out in ((True, floors), (False, no_checkpoints)):
            floor_db = tmp / f"f3-floor-{r}.sqlite3"
            out.append(bare_write(floor_db, ddl, columns, rows, checkpoints=checkpoints))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{floor_db}{suffix}").unlink(missing_ok=True)
    rates = [r["rate"] for r in ours]
    ratios = [a / b for a, b in zip(rates, floors, strict=True)]
    hwm = [r["hwm_mb"] for r in ours]
    ok = all(r["ok"] for r in ours)
    table.add(f"(3) one OTEL file, {n_lines:,} lines (avg {avg:.0f} B)", f"{median(rates):,.0f} lines/s", f"min {min(rates):,.0f}/s", ">= 0.8 x bare write",
              ok and median(ratios) >= 0.8, f"{median(ratios):.2f} x floor; ratios {', '.join(f'{x:.2f}' for x in ratios)}" + ("" if ok else "; NOT ALL INGESTED"))
    table.add("(3) floor: sqlite3 executemany, parsed rows, 5,000/txn", f"{median(floors):,.0f} rows/s", f"min {min(floors):,.0f}/s", "", None,
              spread(floors, "{:,.0f}") + "; same table and indexes as the daemon's")
    bound = [a / b for a, b in zip(rates, no_checkpoints, strict=True)]
    table.add("(3) for context: the same, never checkpointing", f"{median(no_checkpoints):,.0f} rows/s", f"min {min(no_checkpoints):,.0f}/s", "", None,
              f"reevd = {median(bound):.2f} x this; " + spread(no_checkpoints, "{:,.0f}") + "; the daemon checkpoints on a thread of its own")
    table.add("(3) daemon RSS peak (VmHWM)", f"{median(hwm):.1f} MB", f"max {max(hwm):.1f} MB", "<= 80 MB", max(hwm) <= 80,
              f"at start {median([r['base_rss_mb'] for r in ours]):.1f} MB")


# --- (4) burst ------------------------------------------------------------------------------


def bare_ingest(folder: Path, db_path: Path, exec_ddl: list[str], ev_ddl: list[str], ev_columns: list[str]) -> tuple[float, int]:
    """Read, parse and store every file of a folder in one process, no watcher: files/s."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for sql in exec_ddl + ev_ddl:
        conn.execute(sql)
    ev_sql = f"INSERT INTO events ({', '.join(ev_columns)}) VALUES ({', '.join('?' * len(ev_columns))})"
    ex_sql = "INSERT INTO executions (execution_id, status, origin, created_at, updated_at, result_data) VALUES (?,?,?,?,?,?)"
    t0 = time.perf_counter()
    names = [n for n in os.listdir(folder) if n.startswith(("session_", "enhanced_otel_"))]  # not .partial/
    events: list[tuple[object, ...]] = []
    execs: list[tuple[object, ...]] = []
    files = 0

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(ev_sql, events)
        conn.executemany(ex_sql, execs)
        conn.execute("COMMIT")
        events.clear()
        execs.clear()

    for name in names:
        with open(folder / name, "rb") as fh:
            data = fh.read()
        files += 1
        if name.startswith("session_"):
            doc = orjson.loads(data)
            now = "2026-11-21T00:00:00Z"
            execs.append((name[8:-5], "Completed" if doc["final_result"]["success"] else "Failed", "disk", now, now,
                          orjson.dumps(doc["final_result"]).decode()))
        else:
            ident = name[14:-6]
            offset = 0
            for line in data.splitlines(keepends=True):
                doc = orjson.loads(line)
                ti = doc.get("tool_input")
                values = {"execution_id": ident, "offset": offset, "event_type": doc["event_type"], "ts": doc.get("timestamp"),
                          "tool_name": ti.get("tool_name") if isinstance(ti, dict) else None, "body": line.rstrip(b"\n").decode()}
                events.append(tuple(values.get(c) for c in ev_columns))
                offset += len(line)
        if len(events) + len(execs) >= 5000:
            flush()
    flush()
    elapsed = time.perf_counter() - t0
    conn.close()
    return files / elapsed, files


def part_4_once(tmp: Path, name: str, per_kind: int, writers: int) -> dict[str, float]:
    d = fresh_daemon(tmp, name)
    assert d.proc is not None
    sampler = ProcSampler(d.proc.pid, interval=0.05)
    sampler.start()
    lines_per_otel = otel_bytes("x").count(b"\n")
    try:
        procs, go, share = start_burst_writers(d.sessions, per_kind, writers)
        db = db_ro(d.root)
        total = 2 * share * writers
        t0 = time.perf_counter()
        go.set()
        for p in procs:
            p.join()
        t_written = time.perf_counter()
        t_done, counts = wait_burst_visible(db, share * writers, total, share * writers * lines_per_otel)
        counts["events"] = db.execute("SELECT count(*) FROM events").fetchone()[0]  # once, after
        elapsed = (t_done or time.perf_counter()) - t0
        sampler.halt()
        ev_columns, ev_ddl = events_schema(db)
        exec_ddl = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'executions' AND sql IS NOT NULL ORDER BY type DESC")]
        db.close()
    finally:
        if sampler.is_alive():
            sampler.halt()
        stop(d)
    floor_rate, floor_files = bare_ingest(d.sessions, tmp / f"{name}-floor.sqlite3", exec_ddl, ev_ddl, ev_columns)
    assert floor_files == total, (floor_files, total)
    shutil.rmtree(tmp / name, ignore_errors=True)
    ok = t_done is not None and counts["events"] == share * writers * lines_per_otel
    return {"ok": float(ok), "elapsed": elapsed, "rate": total / elapsed, "write_s": t_written - t0,
            "hwm_mb": sampler.hwm_kb / 1024, "floor_rate": floor_rate, "total": float(total),
            "events": float(counts["events"]), "completed": float(counts["completed"])}


def part_4(tmp: Path, per_kind: int, repeats: int, table: Table) -> None:
    runs = [part_4_once(tmp, f"f4-{r}", per_kind, writers=4) for r in range(repeats)]
    el = [r["elapsed"] for r in runs]
    rates = [r["rate"] for r in runs]
    floors = [r["floor_rate"] for r in runs]
    hwm = [r["hwm_mb"] for r in runs]
    ok = all(r["ok"] for r in runs)
    lost = "" if ok else "; LOST: " + ", ".join(f"{int(r['completed'])} sessions, {int(r['events'])} events" for r in runs if not r["ok"])
    table.add(f"(4) burst {per_kind:,}+{per_kind:,} files by 4 processes: all visible", f"{median(el):.2f} s", f"max {max(el):.2f} s",
              f"<= {8 * per_kind / 20000:g} s, none lost", ok and median(el) <= 8 * per_kind / 20000,
              f"{median(rates):,.0f} files/s = {median([a / b for a, b in zip(rates, floors, strict=True)]):.2f} x bare ingest; " + spread(el) + lost)
    table.add("(4) floor: the 4 writers' own time", f"{median([r['write_s'] for r in runs]):.2f} s", "", "", None, "visible cannot come before written")
    table.add("(4) floor: bare read + parse + insert, 1 process", f"{median(floors):,.0f} files/s", f"min {min(floors):,.0f}/s", "", None,
              "no watcher; same tables; " + spread(floors, "{:,.0f}"))
    table.add("(4) daemon RSS peak (VmHWM)", f"{median(hwm):.1f} MB", f"max {max(hwm):.1f} MB", "<= 100 MB", max(hwm) <= 100)


# --- (5) runs per minute --------------------------------------------------------------------


def runner_process_s(n: int) -> list[float]:
    runner = Path(sys.executable).parent / "reev-runner"
    cmd = [str(runner)] if runner.exists() else [sys.executable, "-m", "runner"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEV_")}
    out = []
    with tempfile.TemporaryDirectory() as t:
        for _ in range(n):
            t0 = time.perf_counter()
            subprocess.run([*cmd, str(ROOT / "benchmarks" / "001-sol-transfer.yml"), "--sessions-dir", t], cwd=ROOT, env=env,
                           capture_output=True, check=True)
            out.append(time.perf_counter() - t0)
    return out


def runner_parallel_rate(n: int) -> float:
    """Runs/min of bare `reev-runner` processes, CPUS at a time (what the daemon's default
    concurrency asks of the machine), with no daemon: the limit, under the same contention."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CPUS) as pool:
        list(pool.map(lambda _: runner_process_s(1), range(n)))
    return n / (time.perf_counter() - t0) * 60


def runs_through_daemon(tmp: Path, name: str, n: int) -> tuple[float, int]:
    d = Daemon(root=make_root(tmp, name)).start()
    client = Client(d.port)
    try:
        db = db_ro(d.root)
        for _ in range(2):  # warm the page cache
            post_run(client)
        wait_for(lambda: db.execute("SELECT count(*) FROM executions WHERE status NOT IN ('Queued','Running')").fetchone()[0] >= 2, timeout=60)
        t0 = time.perf_counter()
        for _ in range(n):
            post_run(client)
        t_done = wait_for(lambda: db.execute("SELECT count(*) FROM executions WHERE status NOT IN ('Queued','Running')").fetchone()[0] >= n + 2,
                          timeout=300, interval=0.02)
        elapsed = (t_done or time.perf_counter()) - t0
        completed = db.execute("SELECT count(*) FROM executions WHERE status = 'Completed'").fetchone()[0] - 2
        db.close()
        return n / elapsed * 60, completed
    finally:
        client.close()
        stop(d)


def part_5(tmp: Path, n: int, samples: int, repeats: int, table: Table) -> None:
    ours: list[float] = []
    limits: list[float] = []
    proc_s: list[float] = []
    worst = n
    parallel: list[float] = []
    for r in range(repeats):
        # The limit is measured just before and just after the daemon's runs: the machine's
        # load moves, and both figures should see the same machine.
        s = runner_process_s((samples + 1) // 2)
        before = runner_parallel_rate(2 * samples)
        rate, completed = runs_through_daemon(tmp, f"f5-{r}", n)
        s += runner_process_s((samples + 1) // 2)
        after = runner_parallel_rate(2 * samples)
        proc_s += s
        limits.append(CPUS * 60 / median(s))
        parallel.append((before + after) / 2)
        ours.append(rate)
        worst = min(worst, completed)
    ratios = [a / b for a, b in zip(ours, limits, strict=True)]
    par_ratios = [a / b for a, b in zip(ours, parallel, strict=True)]
    table.add(f"(5) runs/min through the daemon, {n} posted at once", f"{median(ours):.0f}/min", f"min {min(ours):.0f}/min", ">= 0.9 x limit",
              median(ratios) >= 0.9 and worst == n, f"{median(ratios):.2f} x limit; ratios {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"{median(par_ratios):.2f} x bare parallel runners; Completed {worst}/{n} (worst)")
    table.add(f"(5) limit: {CPUS} CPUs / whole-process runner time", f"{median(limits):.0f}/min", "", "", None,
              f"reev-runner 001 as a process: median {median(proc_s) * 1000:.0f} ms, p95 {pct(proc_s, 95) * 1000:.0f} ms (n={len(proc_s)})")
    table.add(f"(5) floor: bare reev-runner processes, {CPUS} at a time", f"{median(parallel):.0f}/min", "", "", None,
              "no daemon; the same contention as the daemon's runs; " + spread(parallel, "{:.0f}"))


# --- (6) memory under streams ---------------------------------------------------------------

BIG_EVENT = 1_000_000


def big_event_line(ident: str, i: int) -> bytes:
    head = (b'{"timestamp":"2026-11-21T00:00:%02d.000000Z","session_id":"%s","event_type":"ToolOutput",'
            b'"metadata":{"benchmark_id":"001-sol-transfer","agent":"deterministic"},"tool_output":{"data":"' % (i % 60, ident.encode()))
    tail = b'"}}\n'
    return head + b"x" * (BIG_EVENT - len(head) - len(tail)) + tail


def open_stream(port: int, ident: str, reading: bool = True) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    if not reading:  # the kernel would otherwise take megabytes for it: make it stall at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /api/v1/executions/{ident}/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


def streams_open(client: Client) -> int:
    _, text = client.get("/metrics")
    m = re.search(r"^reevd_streams_open\s+([0-9.e+]+)", text if isinstance(text, str) else "", re.M)
    return int(float(m.group(1))) if m else -1


def part_6_once(tmp: Path, name: str, clients: int, executions: int, events: int) -> dict[str, float]:
    d = fresh_daemon(tmp, name)
    assert d.proc is not None
    client = Client(d.port)
    idents = [f"sse-mem-{i}" for i in range(executions)]
    for ident in idents:
        (d.sessions / f"enhanced_otel_{ident}.jsonl").write_bytes(otel_bytes(ident).splitlines(keepends=True)[0])
    wait_for(lambda: all(client.get(f"/api/v1/executions/{i}")[0] == 200 for i in idents), timeout=20)
    base_rss = ProcSampler(d.proc.pid).read()[0] / 1024
    sampler = ProcSampler(d.proc.pid, interval=0.02)
    sampler.start()
    socks = [open_stream(d.port, idents[i % executions], reading=i % 2 == 0) for i in range(clients)]
    readers, idle = socks[0::2], socks[1::2]
    received = {s.fileno(): 0 for s in readers}
    halt = threading.Event()

    def read_all() -> None:
        sel = selectors.DefaultSelector()
        for s in readers:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        while not halt.is_set():
            for key, _ in sel.select(0.1):
                try:
                    data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                except (BlockingIOError, ConnectionError):
                    continue
                received[key.fd] += len(data)
        sel.close()

    reader_thread = threading.Thread(target=read_all, daemon=True)
    reader_thread.start()
    try:
        if wait_for(lambda: streams_open(client) >= clients, timeout=60, interval=0.1) is None:
            raise RuntimeError(f"only {streams_open(client)} of {clients} streams open")
        t0 = time.perf_counter()
        for ident in idents:
            with open(d.sessions / f"enhanced_otel_{ident}.jsonl", "ab") as fh:
                for i in range(events):
                    fh.write(big_event_line(ident, i))
        want = events * BIG_EVENT
        delivered = wait_for(lambda: all(v >= want for v in received.values()), timeout=120, interval=0.1)
        t_delivered = (delivered or time.perf_counter()) - t0
        time.sleep(0.5)  # what the idle half holds once the readers are served
        rss_now = ProcSampler(d.proc.pid).read()[0] / 1024
        t_term = time.perf_counter()
        d.proc.terminate()
        try:
            d.proc.wait(30)
            exit_s = time.perf_counter() - t_term
        except subprocess.TimeoutExpired:
            exit_s = float("inf")
        sampler.halt()
        return {"ok": float(delivered is not None), "delivered_s": t_delivered, "hwm_mb": sampler.hwm_kb / 1024, "rss_mb": rss_now,
                "base_mb": base_rss, "exit_s": exit_s}
    finally:
        halt.set()
        reader_thread.join()
        if sampler.is_alive():
            sampler.halt()
        for s in socks:
            s.close()
        client.close()
        stop(d)
        shutil.rmtree(tmp / name, ignore_errors=True)


def part_6(tmp: Path, clients: int, events: int, repeats: int, table: Table) -> None:
    executions = 5
    runs = [part_6_once(tmp, f"f6-{r}", clients, executions, events) for r in range(repeats)]
    hwm = [r["hwm_mb"] for r in runs]
    ex = [r["exit_s"] for r in runs]
    ok = all(r["ok"] for r in runs)
    table.add(f"(6) {clients} SSE clients (half not reading), {executions}x{events} 1 MB events: RSS peak", f"{median(hwm):.1f} MB", f"max {max(hwm):.1f} MB",
              "<= 150 MB", max(hwm) <= 150, f"at start {median([r['base_mb'] for r in runs]):.1f} MB, after delivery {median([r['rss_mb'] for r in runs]):.1f} MB; "
              f"readers served in {median([r['delivered_s'] for r in runs]):.1f} s" + ("" if ok else "; READERS NOT ALL SERVED"))
    table.add("(6) SIGTERM -> exit with those streams open", f"{median(ex) * 1000:.0f} ms", f"max {max(ex) * 1000:.0f} ms", "<= 2 s", max(ex) <= 2)


def main() -> None:
    def parts(quick: bool) -> dict[str, Part]:
        if quick:
            return {
                "1": lambda t, tb: part_1(t, 60, 2, tb),
                "2": lambda t, tb: part_2(t, 2.0, 2, tb),
                "3": lambda t, tb: part_3(t, 200_000, 1, tb),
                "4": lambda t, tb: part_4(t, 5_000, 1, tb),
                "5": lambda t, tb: part_5(t, 30, 5, 1, tb),
                "6": lambda t, tb: part_6(t, 500, 2, 1, tb),
            }
        return {
            "1": lambda t, tb: part_1(t, 150, 3, tb),
            "2": lambda t, tb: part_2(t, 5.0, 3, tb),
            "3": lambda t, tb: part_3(t, 1_000_000, 3, tb),
            "4": lambda t, tb: part_4(t, 20_000, 3, tb),
            "5": lambda t, tb: part_5(t, 100, 9, 2, tb),
            "6": lambda t, tb: part_6(t, 500, 4, 2, tb),
        }

    run_parts(__doc__.split("\n")[0], "limits", "smaller run: fewer samples, 200,000 lines, a 5,000+5,000 burst, 30 runs", parts)


if __name__ == "__main__":
    main()
