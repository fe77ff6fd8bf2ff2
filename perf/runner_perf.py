"""Runner performance figures (not a test): prints median and p95 for

(a) one benchmark in process: VM reset, agent, transaction, score, session + OTEL files
    (target: median <= 15 ms);
(b) `reev-runner benchmarks/001-sol-transfer.yml` as a whole process (target: median <= 250 ms);
(c) the whole benchmarks/ folder in one process (target: <= 1 s);
plus interpreter start-up and import time (python -X importtime) of a 001 run.

Usage: .venv/bin/python perf/runner_perf.py [--quick]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_001 = ROOT / "benchmarks" / "001-sol-transfer.yml"
RUNNER = [str(Path(sys.executable).parent / "reev-runner")]
if not Path(RUNNER[0]).exists():
    RUNNER = [sys.executable, "-m", "runner"]


def _stats(name: str, samples_ms: list[float], target_ms: float) -> None:
    s = sorted(samples_ms)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    med = statistics.median(s)
    verdict = "ok" if med <= target_ms else "OVER TARGET"
    print(f"{name:<48} median {med:8.2f} ms  p95 {p95:8.2f} ms  (n={len(s)}, target {target_ms:g} ms: {verdict})")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REEV_")}


def in_process(n: int) -> None:
    from runner.agents import get_agent
    from runner.benchmark import load_benchmark_file
    from runner.run import run_benchmark

    bench = load_benchmark_file(ROOT / "benchmarks" / "002-spl-transfer.yml")
    agent = get_agent("deterministic")
    with tempfile.TemporaryDirectory() as tmp:
        run_benchmark(bench, agent, "warm", Path(tmp))  # first VM in a process loads its programs
        for name, b in (("002-spl-transfer", bench), ("001-sol-transfer", load_benchmark_file(BENCH_001))):
            samples = []
            for i in range(n):
                t = time.perf_counter()
                run_benchmark(b, agent, f"p{i}", Path(tmp))
                samples.append((time.perf_counter() - t) * 1000)
            _stats(f"(a) in process, {name}", samples, 15)


def whole_process(n: int, args: list[str], label: str, target: float) -> None:
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(n):
            t = time.perf_counter()
            proc = subprocess.run([*RUNNER, *args, "--sessions-dir", tmp], cwd=ROOT, env=_env(), capture_output=True)
            samples.append((time.perf_counter() - t) * 1000)
            if proc.returncode != 0:
                raise SystemExit(f"{label}: exit {proc.returncode}: {proc.stderr.decode()}")
    _stats(label, samples, target)


def startup(n: int) -> None:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=_env(), check=True)
        samples.append((time.perf_counter() - t) * 1000)
    print(f"{'bare interpreter start (python -c pass)':<48} median {statistics.median(samples):8.2f} ms")


def import_time() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "runner", str(BENCH_001), "--sessions-dir", tmp],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
        )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m[2]), len(m[3]), m[4]))
    top = [(us, mod) for us, depth, mod in rows if depth == 1]
    print(f"{'import time of a 001 run (-X importtime, total)':<48} {sum(us for us, _ in top) / 1000:8.2f} ms")
    for us, mod in sorted(top, reverse=True)[:8]:
        print(f"    {mod:<40} {us / 1000:7.2f} ms")


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, runner command: {' '.join(RUNNER)}")
    in_process(20 if quick else 100)
    whole_process(5 if quick else 21, [str(BENCH_001)], "(b) reev-runner 001-sol-transfer (process)", 250)
    whole_process(3 if quick else 7, [str(ROOT / "benchmarks")], "(c) reev-runner benchmarks/ (one process)", 1000)
    startup(5 if quick else 11)
    import_time()


if __name__ == "__main__":
    main()
