"""The fault suite, long versions (`make chaos`). Not a test: prints what it found.

- crash consistency: N kill -9/restart cycles while writers append OTEL lines, drop session files
  and runs are launched; then the database is compared with the files (lost, duplicated, wrong state);
- a burst of session files with non-UTF-8 names among them: every good one ingested;
- SIGTERM with 500 streams open, half of them never reading: exit time.

Usage: .venv/bin/python perf/chaos.py [--cycles 100] [--burst 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "perf"))

from tests.e2e.test_daemon_ingest import session_bytes  # noqa: E402
from tests.faults.chaos import crash_cycles  # noqa: E402
from tests.helpers import Daemon, eventually, http  # noqa: E402


def burst_with_bad_names(count: int) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Daemon(root=Path(tmp) / "root").start()
        try:
            started = time.monotonic()
            folder = os.fsencode(d.sessions)
            for i in range(count):
                if i % 100 == 50:
                    with open(os.path.join(folder, b"session_\xff" + str(i).encode() + b".json"), "wb") as fh:
                        fh.write(b"{}")
                (d.sessions / f"session_b{i}.json").write_bytes(session_bytes(f"b{i}"))

            def ingested() -> int:
                _, text, _ = http("GET", f"{d.url}/metrics")
                line = next((x for x in text.splitlines() if x.startswith('reevd_ingest_files_total{kind="session"}')), "")
                return int(float(line.split()[1])) if line else 0
            eventually(lambda: ingested() >= count, 600, "the burst ingested")
            return ingested(), count // 100, time.monotonic() - started
        finally:
            d.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--burst", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        report = crash_cycles(Path(tmp), cycles=args.cycles, seed=args.seed)
        print(f"crash cycles: {report.cycles} kill -9 cycles in {time.monotonic() - started:.0f} s; {report.runs} runs, "
              f"{report.otel_files} OTEL files / {report.otel_lines} lines, {report.session_files} session files; "
              f"problems: {len(report.problems)}")
        for p in report.problems[:20]:
            print(f"  {p}")
        failed |= bool(report.problems)
    got, bad, seconds = burst_with_bad_names(args.burst)
    print(f"burst: {args.burst} session files with {bad} non-UTF-8 names among them: {got} ingested in {seconds:.1f} s")
    failed |= got < args.burst
    from shutdown_with_streams import measure

    times = [measure(500, 250) for _ in range(3)]
    print(f"shutdown with 500 streams (250 not reading): median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms (bound 2000 ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
