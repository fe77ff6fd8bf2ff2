"""reevd ingest performance (issue 3). Not a test: prints figures against the targets.

(a) a session file renamed into logs/sessions -> visible through GET /api/v1/executions/{id}:
    p50 <= 5 ms, p99 <= 20 ms over >= 500 files (one at a time; the client polls GET over one
    keep-alive connection; the GET round-trip of an existing id is reported as client overhead);
(b) a burst of 10,000 session files + 10,000 OTEL files written by 2 writer processes as fast
    as they can: all ingested (checked in the daemon's SQLite file, read-only), >= 2,000 files/s
    from the first write to the last file committed; overflow rescans reported;
(c) one OTEL file of 1,000,000 runner-like lines (300-700 bytes) appended in 4 MiB chunks while
    the daemon runs: >= 100,000 lines/s, daemon RSS (VmRSS/VmHWM sampled) < 150 MB throughout.

Each part gets a fresh daemon on a temp root and a free port; (b) and (c) are repeated and
reported as medians. Usage: .venv/bin/python perf/ingest_perf.py [--quick] [--only a,b,c]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Client, Daemon, Part, ProcSampler, Table, run_parts, db_ro, median, overflow_rescans, pct, stop, wait_for  # noqa: E402
from runner.atomic import SESSION_TEMP_SUBFOLDER, write_atomic  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "sessions"
SESSION_TEMPLATE = (FIXTURES / "session_fixture-001-sol-transfer.json").read_bytes()
OTEL_TEMPLATE = (FIXTURES / "enhanced_otel_fixture-001-sol-transfer.jsonl").read_bytes()
FIXTURE_ID = b"fixture-001-sol-transfer"


def session_bytes(ident: str) -> bytes:
    return SESSION_TEMPLATE.replace(FIXTURE_ID, ident.encode())


def otel_bytes(ident: str) -> bytes:
    return OTEL_TEMPLATE.replace(FIXTURE_ID, ident.encode())


def fresh_daemon(tmp: Path, name: str) -> Daemon:
    root = tmp / name
    root.mkdir()
    return Daemon(root=root).start()


# --- (a) ---------------------------------------------------------------------------------


def part_a(tmp: Path, n: int, table: Table) -> None:
    d = fresh_daemon(tmp, "a")
    client = Client(d.port)
    try:
        sessions = d.sessions
        warm = 20
        lat: list[float] = []
        for i in range(n + warm):
            ident = f"lat-{i:05d}"
            path = f"/api/v1/executions/{ident}"
            tmp_file = sessions / f".session_{ident}.json.tmp"
            tmp_file.write_bytes(session_bytes(ident))
            t0 = time.perf_counter()
            os.replace(tmp_file, sessions / f"session_{ident}.json")
            while True:
                status, body = client.get(path)
                if status == 200 and body.get("status") == "Completed":
                    break
            if i >= warm:
                lat.append((time.perf_counter() - t0) * 1000)
        overhead: list[float] = []
        for i in range(300):
            t0 = time.perf_counter()
            status, _ = client.get(f"/api/v1/executions/lat-{i % n + warm:05d}")
            overhead.append((time.perf_counter() - t0) * 1000)
            assert status == 200
        miss: list[float] = []
        for i in range(300):
            t0 = time.perf_counter()
            client.get(f"/api/v1/executions/absent-{i}")
            miss.append((time.perf_counter() - t0) * 1000)
        table.add(f"(a) rename -> GET visible, n={n}: p50", f"{median(lat):.2f} ms", f"p95 {pct(lat, 95):.2f} ms", "p50 <= 5 ms", median(lat) <= 5)
        table.add("(a) rename -> GET visible: p99", f"{pct(lat, 99):.2f} ms", f"max {max(lat):.2f} ms", "p99 <= 20 ms", pct(lat, 99) <= 20)
        table.add("(a) client overhead: GET existing id", f"{median(overhead):.2f} ms", f"p99 {pct(overhead, 99):.2f} ms", "", None, "included in the latency")
        table.add("(a) client overhead: GET 404 id", f"{median(miss):.2f} ms", f"p99 {pct(miss, 99):.2f} ms", "", None, "one poll round")
    finally:
        client.close()
        stop(d)


# --- (b) ---------------------------------------------------------------------------------


def _burst_writer(folder: str, start: int, count: int, go: "mp.synchronize.Event", ready: "mp.synchronize.Barrier",
                  temp_subfolder: str | None = SESSION_TEMP_SUBFOLDER) -> None:
    sessions = [(f"burst-s-{i:06d}", session_bytes(f"burst-s-{i:06d}")) for i in range(start, start + count)]
    otels = [(f"burst-o-{i:06d}", otel_bytes(f"burst-o-{i:06d}")) for i in range(start, start + count)]
    ready.wait()
    go.wait()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    base = Path(folder)
    for (sid, sdata), (oid, odata) in zip(sessions, otels, strict=True):
        # session: the runner's own atomic write (temp file in logs/sessions/.partial, then
        # renamed in), without its two fsyncs: 40,000 fsyncs would measure the disk, not reevd.
        # temp_subfolder=None is the older way (temp file in the folder itself, as upstream).
        write_atomic(base / f"session_{sid}.json", sdata, temp_subfolder=temp_subfolder, durable=False)
        # OTEL: created and written in place, as the runner appends it
        fd = os.open(f"{folder}/enhanced_otel_{oid}.jsonl", flags, 0o644)
        os.write(fd, odata)
        os.close(fd)


def start_burst_writers(sessions: Path, per_kind: int, writers: int, temp_subfolder: str | None = SESSION_TEMP_SUBFOLDER) -> tuple[list[Any], Any, int]:
    """Fork `writers` processes, each ready to write its share of session + OTEL files into
    `sessions` when the returned event is set. -> (processes, go event, files per kind each)."""
    ctx = mp.get_context("fork")
    go, ready = ctx.Event(), ctx.Barrier(writers + 1)
    share = per_kind // writers
    procs = [ctx.Process(target=_burst_writer, args=(str(sessions), w * share, share, go, ready, temp_subfolder)) for w in range(writers)]
    for p in procs:
        p.start()
    ready.wait()
    return procs, go, share

def wait_burst_visible(db: sqlite3.Connection, runs: int, files: int, lines: int, timeout: float = 180,
                       interval: float = 0.02) -> tuple[float | None, dict[str, int]]:
    """Wait until a burst of `runs` sessions + `runs` OTEL files (`lines` lines in all) is
    committed: -> (the perf_counter time it was, the counts last seen).

    The cheap gate (Completed rows, through the status index) runs every `interval`; the full
    check (every `files` row) only once it passes. Counting the events table or scanning
    `files` every 20-50 ms took a good part of one of the two cores from the daemon being
    measured. Sessions commit after their run's OTEL lines, so the gate rarely passes early."""
    counts = {"files": 0, "completed": 0, "lines": 0}

    def done() -> bool:
        counts["completed"] = db.execute("SELECT count(*) FROM executions WHERE status = 'Completed'").fetchone()[0]
        if counts["completed"] < runs:
            return False
        counts["files"], counts["lines"] = db.execute("SELECT count(*), coalesce(sum(lines), 0) FROM files").fetchone()
        return counts["completed"] == runs and counts["files"] == files and counts["lines"] == lines

    return wait_for(done, timeout=timeout, interval=interval), counts


def part_b_once(tmp: Path, name: str, per_kind: int, writers: int) -> dict[str, float]:
    d = fresh_daemon(tmp, name)
    client = Client(d.port)
    lines_per_otel = OTEL_TEMPLATE.count(b"\n")
    try:
        procs, go, share = start_burst_writers(d.sessions, per_kind, writers)
        db = db_ro(d.root)
        total_files = 2 * share * writers
        t0 = time.perf_counter()
        go.set()
        for p in procs:
            p.join()
        t_written = time.perf_counter()
        t_done, counts = wait_burst_visible(db, share * writers, total_files, share * writers * lines_per_otel)
        events_rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
        rescans, source = overflow_rescans(client, d)
        db.close()
        elapsed = (t_done or time.perf_counter()) - t0
        return {
            "ok": float(t_done is not None and events_rows == share * writers * lines_per_otel),
            "files": float(counts["files"]), "total": float(total_files), "completed": float(counts["completed"]),
            "events": float(events_rows), "expected_events": float(share * writers * lines_per_otel),
            "write_s": t_written - t0, "elapsed_s": elapsed, "rate": total_files / elapsed,
            "rescans": float(rescans), "rescan_source": 1.0 if source == "metrics" else 0.0,
        }
    finally:
        client.close()
        stop(d)


def part_b(tmp: Path, per_kind: int, repeats: int, table: Table) -> None:
    runs = [part_b_once(tmp, f"b{r}", per_kind, writers=2) for r in range(repeats)]
    rates = [r["rate"] for r in runs]
    all_ok = all(r["ok"] for r in runs)
    lost = ", ".join(f"{int(r['files'])}/{int(r['total'])} files, {int(r['events'])}/{int(r['expected_events'])} events" for r in runs if not r["ok"])
    table.add(f"(b) burst {per_kind}+{per_kind} files, all ingested", "yes" if all_ok else "NO", f"{repeats} run(s)", "none lost", all_ok, lost)
    table.add("(b) burst: files/s (first write -> all committed)", f"{median(rates):,.0f}/s", f"min {min(rates):,.0f}/s", ">= 2,000/s", median(rates) >= 2000,
              "runs: " + ", ".join(f"{x:,.0f}" for x in rates))
    table.add("(b) burst: writers' own time", f"{median([r['write_s'] for r in runs]):.2f} s", "", "", None,
              f"ingest done after {median([r['elapsed_s'] for r in runs]):.2f} s")
    src = "GET /metrics" if all(r["rescan_source"] for r in runs) else "daemon log"
    table.add("(b) burst: inotify overflow rescans", f"{median([r['rescans'] for r in runs]):.0f}", "runs: " + ", ".join(str(int(r["rescans"])) for r in runs), "", None, f"from {src}")


# --- (c) ---------------------------------------------------------------------------------


def big_otel_lines(ident: str, n: int) -> bytes:
    """n runner-like lines (the fixture's 5 kinds, 339-655 bytes), each with its own timestamp."""
    templates = [line.replace(FIXTURE_ID, ident.encode()) for line in OTEL_TEMPLATE.splitlines()]
    parts = []
    for t in templates:
        i = t.index(b'"timestamp":"') + len(b'"timestamp":"')
        j = t.index(b'"', i)
        parts.append((t[:i], t[j:] + b"\n"))
    out = []
    k = len(parts)
    for i in range(n):
        head, tail = parts[i % k]
        s, us = divmod(i, 1000)
        out.append(head + b"2026-11-21T%02d:%02d:%02d.%06dZ" % (s // 3600 % 24, s // 60 % 60, s % 60, us) + tail)
    return b"".join(out)


def part_c_once(tmp: Path, name: str, data: bytes, n_lines: int, ident: str) -> dict[str, float]:
    d = fresh_daemon(tmp, name)
    assert d.proc is not None
    sampler = ProcSampler(d.proc.pid, interval=0.02)
    base_rss, _ = sampler.read()
    sampler.start()
    try:
        db = db_ro(d.root)
        fname = f"enhanced_otel_{ident}.jsonl"
        chunk = 4 << 20
        t0 = time.perf_counter()
        fd = os.open(d.sessions / fname, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            for pos in range(0, len(data), chunk):  # chunks cut mid-line: partial lines are normal
                os.write(fd, view[pos : pos + chunk])
        finally:
            os.close(fd)
        t_written = time.perf_counter()
        state = {"lines": 0}

        def done() -> bool:
            row = db.execute("SELECT lines FROM files WHERE name = ?", (fname,)).fetchone()
            state["lines"] = row[0] if row else 0
            return state["lines"] >= n_lines

        t_done = wait_for(done, timeout=180, interval=0.05)
        elapsed = (t_done or time.perf_counter()) - t0
        events = db.execute("SELECT count(*) FROM events WHERE execution_id = ?", (ident,)).fetchone()[0]
        db.close()
        sampler.halt()
        return {
            "ok": float(t_done is not None and events == n_lines), "events": float(events), "write_s": t_written - t0,
            "elapsed_s": elapsed, "rate": n_lines / elapsed, "peak_rss_mb": max(sampler.rss_kb) / 1024,
            "hwm_mb": sampler.hwm_kb / 1024, "base_rss_mb": base_rss / 1024,
        }
    finally:
        if sampler.is_alive():
            sampler.halt()
        stop(d)


def part_c(tmp: Path, n_lines: int, repeats: int, table: Table) -> None:
    ident = "bigotel-1"
    data = big_otel_lines(ident, n_lines)
    avg = len(data) / n_lines
    runs = []
    for r in range(repeats):
        runs.append(part_c_once(tmp, f"c{r}", data, n_lines, ident))
        shutil.rmtree(tmp / f"c{r}", ignore_errors=True)  # ~1 GB of file + database per run
    rates = [r["rate"] for r in runs]
    hwm = [r["hwm_mb"] for r in runs]
    ok = all(r["ok"] for r in runs)
    table.add(f"(c) one OTEL file, {n_lines:,} lines (avg {avg:.0f} B): all ingested", "yes" if ok else "NO", f"{repeats} run(s)", "all lines", ok,
              ", ".join(f"{int(r['events'])}" for r in runs))
    table.add("(c) lines/s (first write -> last line committed)", f"{median(rates):,.0f}/s", f"min {min(rates):,.0f}/s", ">= 100,000/s", median(rates) >= 100_000,
              "runs: " + ", ".join(f"{x:,.0f}" for x in rates) + f"; writer alone {median([r['write_s'] for r in runs]):.2f} s")
    table.add("(c) daemon RSS peak (VmHWM)", f"{median(hwm):.1f} MB", f"max {max(hwm):.1f} MB", "< 150 MB", max(hwm) < 150,
              f"sampled VmRSS max {max(r['peak_rss_mb'] for r in runs):.1f} MB; at start {median([r['base_rss_mb'] for r in runs]):.1f} MB")


def main() -> None:
    def parts(quick: bool) -> dict[str, Part]:
        n_a, per_kind, n_lines, repeats = (100, 2000, 200_000, 1) if quick else (500, 10_000, 1_000_000, 3)
        return {
            "a": lambda tmp, table: part_a(tmp, n_a, table),
            "b": lambda tmp, table: part_b(tmp, per_kind, repeats, table),
            "c": lambda tmp, table: part_c(tmp, n_lines, 2 if repeats > 1 else 1, table),
        }

    run_parts(__doc__.split("\n")[0], "ingest", "smaller run: 100 files, 2,000+2,000 burst, 200,000 lines, once each", parts)


if __name__ == "__main__":
    main()
