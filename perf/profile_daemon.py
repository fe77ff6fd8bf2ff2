"""Profile a real daemon under one of the limits_perf workloads with py-spy (pip install py-spy).

Prints the hottest frames by own time and by inclusive time, across every thread, and keeps
the collapsed stacks (flamegraph.pl / speedscope input) in the file it names.

Usage: .venv/bin/python perf/profile_daemon.py status|otel|burst|feedback [--seconds 8] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Client, Daemon, db_ro, wait_for  # noqa: E402
from ingest_perf import _burst_writer, big_otel_lines, otel_bytes, session_bytes  # noqa: E402
from limits_perf import CPUS, pin  # noqa: E402


def summarise(raw: Path, top: int = 25) -> None:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    print(f"\n{total} samples")
    print("\n-- own time --")
    for f, n in own.most_common(top):
        print(f"{100 * n / total:5.1f}%  {f}")
    print("\n-- inclusive --")
    for f, n in incl.most_common(top):
        print(f"{100 * n / total:5.1f}%  {f}")


def workload(kind: str, d: Daemon, seconds: float, stop: threading.Event) -> None:
    if kind == "status":
        ident = "prof-1"
        (d.sessions / f"enhanced_otel_{ident}.jsonl").write_bytes(otel_bytes(ident))
        (d.sessions / ".s.tmp").write_bytes(session_bytes(ident))
        os.replace(d.sessions / ".s.tmp", d.sessions / f"session_{ident}.json")
        c = Client(d.port)
        wait_for(lambda: c.get(f"/api/v1/executions/{ident}")[1].get("status") == "Completed", timeout=10)
        c.close()
        subprocess.run(["taskset", "-c", str(CPUS - 1), "wrk", "-t1", "-c32", f"-d{seconds:g}s",
                        f"http://127.0.0.1:{d.port}/api/v1/executions/{ident}"], capture_output=True, check=True)
    elif kind == "otel":
        data = big_otel_lines("prof-otel", 300_000)
        with open(d.sessions / "enhanced_otel_prof-otel.jsonl", "ab") as fh:
            for pos in range(0, len(data), 4 << 20):
                fh.write(data[pos : pos + (4 << 20)])
        db = db_ro(d.root)
        wait_for(lambda: (db.execute("SELECT lines FROM files WHERE name = 'enhanced_otel_prof-otel.jsonl'").fetchone() or (0,))[0] >= 300_000, 120)
    elif kind == "burst":
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        go, ready = ctx.Event(), ctx.Barrier(5)
        procs = [ctx.Process(target=_burst_writer, args=(str(d.sessions), w * 2500, 2500, go, ready)) for w in range(4)]
        for p in procs:
            p.start()
        ready.wait()
        go.set()
        for p in procs:
            p.join()
        db = db_ro(d.root)
        wait_for(lambda: db.execute("SELECT count(*) FROM executions WHERE status = 'Completed'").fetchone()[0] >= 10_000, 120)
    elif kind == "feedback":
        c = Client(d.port)
        deadline = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            ident = f"fb-{i}"
            (d.sessions / ".s.tmp").write_bytes(session_bytes(ident))
            os.replace(d.sessions / ".s.tmp", d.sessions / f"session_{ident}.json")
            while c.get(f"/api/v1/executions/{ident}")[1].get("status") != "Completed":
                pass
        c.close()
    stop.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["status", "otel", "burst", "feedback"])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory(prefix="reevd-profile-") as t:
        d = Daemon(root=Path(t)).start()
        assert d.proc is not None
        if args.kind == "status":
            pin(d.proc.pid, {0})
        out = Path(args.out or f"/tmp/reevd-profile-{args.kind}.txt")
        spy_proc = subprocess.Popen([spy, "record", "-p", str(d.proc.pid), "-r", "250", "--nonblocking", "-f", "raw",
                                     "-o", str(out), "-d", str(int(args.seconds) + 30)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        done = threading.Event()
        workload(args.kind, d, args.seconds, done)
        spy_proc.send_signal(2)  # SIGINT: py-spy writes what it has
        spy_proc.wait(30)
        d.stop()
    summarise(out)
    print(f"\ncollapsed stacks: {out}")


if __name__ == "__main__":
    main()
