"""LLM harness performance figures (not a test). Prints:

(a) harness overhead per model turn (targets: median <= 3 ms): one step of 8 turns against a
    fake OpenAI-compatible server that answers at once; overhead = turn wall time minus the
    client-observed HTTP exchange, i.e. request build, tool execution, OTEL and llm logging.
    The whole turn (with the loopback HTTP exchange through the openai client) is printed too.
(b) memory of one LLM run (target: <= 60 MB per run). A run forked from the runner fork server
    (what the daemon does) shares the server's imported pages, so its RSS counts them again;
    its marginal cost is its USS (private pages) and its fair share is its PSS, both from
    /proc/<pid>/smaps_rollup while it waits on its first model turn. Printed: the forked run's
    RSS/PSS/USS, the same for a fresh process (`reev-runner 001 --agent openai:...`), the
    fork server's own RSS (paid once), and the fresh process's peak RSS (its whole life).
(c) 50 LLM runs at once through the daemon (one eval: 001 x 50 epochs; --llm-concurrency and
    --llm-per-provider 50) against a fake model that takes 1 s per turn (2 turns per run):
    time from POST /evals to the last run finished (target: turns x 1 s + 3 s = 5 s), and the
    daemon's CPU seconds over that time (it should mostly wait); with the fork server (after it
    is ready) and with REEVD_FORK_SERVER=0 (a fresh process per run, for comparison).

Usage: .venv/bin/python perf/llm_perf.py [--quick] [--only abc]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.agents import get_agent  # noqa: E402
from runner.benchmark import load_benchmark_file  # noqa: E402
from runner.llm.backend import Exchange  # noqa: E402
from runner.run import run_benchmark  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, by_turn, text, tool_call  # noqa: E402
from tests.runner.llm_scripts import SOLUTIONS  # noqa: E402

BENCH_001 = ROOT / "benchmarks" / "001-sol-transfer.yml"
TURNS = 8
KEY = "sk-perf-0000"


class _Timed:
    """Wraps the real backend and sums the client-observed exchange time."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.base_url = inner.base_url
        self.exchange_s = 0.0

    def complete(self, request: dict[str, Any]) -> Exchange:
        t0 = time.perf_counter()
        try:
            return self.inner.complete(request)
        finally:
            self.exchange_s += time.perf_counter() - t0

    def close(self) -> None:
        self.inner.close()


def harness_overhead(runs: int) -> None:
    # 7 tool-call turns (a transfer, then balance reads) and a final text turn.
    turns = [tool_call("sol_transfer", user_pubkey="USER_WALLET_PUBKEY", recipient_pubkey="RECIPIENT_WALLET_PUBKEY", amount=100_000_000, operation="sol", mint_address=None)]
    turns += [tool_call("get_account_balance", pubkey="USER_WALLET_PUBKEY") for _ in range(TURNS - 2)] + [text("Done.")]
    bench = load_benchmark_file(BENCH_001)
    overhead: list[float] = []
    whole: list[float] = []
    with FakeOpenAI(by_turn(turns), key=KEY) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url, "REEV_LLM_MAX_TURNS": str(TURNS)}
        agent = get_agent("openai:perf-model", env)
        timed = _Timed(agent.backend)  # type: ignore[attr-defined]
        agent.backend = timed  # type: ignore[attr-defined]
        for i in range(runs + 3):
            timed.exchange_s = 0.0
            t0 = time.perf_counter()
            r = run_benchmark(bench, agent, f"p{i}", Path(tmp))
            # Only the agent's loop: subtract the VM/scoring part measured by a deterministic run below.
            wall = time.perf_counter() - t0
            assert r.score == 1.0 and r.steps[0]["info"]["turns"] == TURNS, (r.score, r.steps[0]["info"])
            if i >= 3:  # warm-up: client creation and first connections
                whole.append(wall)
                overhead.append(wall - timed.exchange_s)
        det = get_agent("deterministic")
        base = []
        for i in range(runs):
            t0 = time.perf_counter()
            run_benchmark(bench, det, f"d{i}", Path(tmp))
            base.append(time.perf_counter() - t0)
    vm_ms = statistics.median(base) * 1000
    per_turn_overhead = [(o * 1000 - vm_ms) / TURNS for o in overhead]
    per_turn_whole = [(w * 1000 - vm_ms) / TURNS for w in whole]
    med = statistics.median(per_turn_overhead)
    print(f"(a) harness overhead per model turn            median {med:6.2f} ms  (n={len(overhead)} runs x {TURNS} turns; target 3 ms: {'ok' if med <= 3 else 'OVER TARGET'})")
    print(f"    whole turn incl. loopback HTTP via openai  median {statistics.median(per_turn_whole):6.2f} ms")
    print(f"    (a deterministic run of the same benchmark, subtracted: median {vm_ms:.2f} ms)")


_WRAPPER = (
    "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    # Through a tiny wrapper: a child forked from this (large) process would report our RSS.
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    code, kb = out.stdout.split()
    if code != "0":
        raise SystemExit(f"runner failed: {out.stderr}")
    return int(kb) / 1024


def _smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of a live process, in MB."""
    kb: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith(":"):
                kb[parts[0][:-1]] = int(parts[1])
    return {"rss": kb["Rss"] / 1024, "pss": kb["Pss"] / 1024, "uss": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}


class _ForkServer:
    """runner/forkserver.py driven the way the daemon drives it (SOCK_SEQPACKET, one JSON per message)."""

    def __init__(self) -> None:
        import json
        import socket

        self.json = json
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, "-m", "runner.forkserver", "--fd", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        assert json.loads(self.sock.recv(65536))["ready"]

    def spawn(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        import socket

        self.sock.send(self.json.dumps({"id": "1", "argv": argv, "env": env, "cwd": str(ROOT), "log": str(log)}).encode())
        while True:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 4)
            for fd in fds:
                os.close(fd)
            message = self.json.loads(data)
            if message.get("id") == "1":
                if "error" in message:
                    raise SystemExit(f"fork server: {message['error']}")
                return int(message["pid"])

    def wait_exit(self, pid: int) -> int:
        while True:
            message = self.json.loads(self.sock.recv(65536))
            if message.get("exit") == pid:
                return int(message["returncode"])

    def close(self) -> None:
        self.sock.close()
        self.proc.wait(10)


def _sample_while_waiting(fake: Any, pid: int, expected_requests: int) -> dict[str, float]:
    """smaps_rollup of the run once its first model request is at the (slow) fake server."""
    deadline = time.monotonic() + 30
    while len(fake.requests) < expected_requests:
        if time.monotonic() > deadline:
            raise SystemExit("the run never called the model")
        time.sleep(0.01)
    return _smaps(pid)


def runner_rss(runs: int) -> None:
    first, last = SOLUTIONS["001-sol-transfer"]
    from tests.fakes.openai_server import Turn

    script = by_turn([Turn(calls=first.calls, delay_s=1.0), last])
    runner = [sys.executable, "-m", "runner", str(BENCH_001)]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("REEV_") and not k.endswith("_API_KEY")}
    forked: list[dict[str, float]] = []
    fresh: list[dict[str, float]] = []
    peak, det = [], []
    with FakeOpenAI(script, key=KEY) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**base_env, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url}
        args = ["--agent", "openai:perf-model", "--sessions-dir", tmp]
        server = _ForkServer()
        try:
            server_mem = _smaps(server.proc.pid)
            for i in range(runs):
                n = len(fake.requests)
                pid = server.spawn(["reev-runner", str(BENCH_001), *args, f"--execution-id=f{i}"], env, Path(tmp) / f"f{i}.log")
                forked.append(_sample_while_waiting(fake, pid, n + 1))
                if server.wait_exit(pid) != 0:
                    raise SystemExit(f"forked run failed: {(Path(tmp) / f'f{i}.log').read_text()[-500:]}")
        finally:
            server.close()
        for i in range(runs):
            n = len(fake.requests)
            proc = subprocess.Popen([*runner, *args, f"--execution-id=p{i}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            fresh.append(_sample_while_waiting(fake, proc.pid, n + 1))
            if proc.wait() != 0:
                raise SystemExit("fresh run failed")
            peak.append(_peak_rss_mb([*runner, *args, f"--execution-id=r{i}"], env))
            det.append(_peak_rss_mb([*runner, "--sessions-dir", tmp, "--execution-id", f"d{i}"], base_env))

    def med(samples: list[dict[str, float]], key: str) -> float:
        return statistics.median(s[key] for s in samples)

    uss = med(forked, "uss")
    print(f"(b) one LLM run (001) forked from the fork server, while waiting on the model (n={runs}):")
    print(f"    USS (its own pages: the marginal cost)     median {uss:6.1f} MB  (target 60 MB: {'ok' if uss <= 60 else 'OVER TARGET'})")
    print(f"    PSS (its share of the shared pages)        median {med(forked, 'pss'):6.1f} MB")
    print(f"    RSS (shared pages counted again)           median {med(forked, 'rss'):6.1f} MB")
    print(f"    fork server itself (paid once):            RSS {server_mem['rss']:.1f} MB, USS {server_mem['uss']:.1f} MB")
    print(f"    a fresh process at the same point:         RSS {med(fresh, 'rss'):.1f} MB, PSS {med(fresh, 'pss'):.1f} MB, USS {med(fresh, 'uss'):.1f} MB")
    print(f"    a fresh process's peak RSS (whole life)    median {statistics.median(peak):6.1f} MB; deterministic agent {statistics.median(det):.1f} MB")


def daemon_llm_runs(runs: int, fork_server: bool = True) -> None:
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import cpu_seconds, wait_fork_server
    from tests.helpers import Daemon, http

    agent = "openai:perf-model"
    with FakeOpenAI(by_turn(list(SOLUTIONS["001-sol-transfer"])), key=KEY, latency_s=1.0) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(ROOT / "benchmarks", root / "benchmarks")
        env = {"OPENAI_API_KEY": "", "REEV_LLM_CACHE_DIR": "", "REEVD_FORK_SERVER": "1" if fork_server else "0"}
        d = Daemon(root=root, extra_args=["--llm-concurrency", str(runs), "--llm-per-provider", str(runs)], env=env).start()
        try:
            if fork_server and not wait_fork_server(d):
                raise SystemExit("the daemon's fork server did not become ready")
            d.post("/agents/config", {"agent_type": agent, "api_url": fake.base_url, "api_key": KEY})
            assert d.proc is not None
            cpu0 = cpu_seconds(d.proc.pid)
            t0 = time.perf_counter()
            status, started = d.post("/evals", {"agents": [agent], "benchmarks": ["001-sol-transfer"], "epochs": runs})
            assert status == 202, started
            # Wait on the daemon's own feed (like `reevd eval --wait`): no polling of the API.
            from reevd.eval_client import _wait

            report = _wait(d.url, started["eval_id"])
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(d.proc.pid) - cpu0
            cells = report["cells"]
            _s, rows, _h = http("GET", f"{d.api}/executions?limit=500")
            ends = sorted(r["finished_at"] for r in rows["executions"] if r["finished_at"])
        finally:
            d.stop()
    target = 2 * 1.0 + 3
    how = "fork server" if fork_server else "fresh processes (REEVD_FORK_SERVER=0)"
    print(f"(c) {runs} LLM runs through the daemon, 1 s/turn, {how}")
    print(f"    last finished after {wall:6.2f} s  (target {target:g} s: {'ok' if wall <= target else 'OVER TARGET'})")
    print(f"    mean score {cells[0]['mean_score']}, finished {report['finished']}/{report['runs']}; daemon CPU {cpu:.2f} s ({100 * cpu / wall:.0f}% of one core)")
    print(f"    first/last finished_at: {ends[0][11:23]} / {ends[-1][11:23]}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else "abc"
    if "a" in only:
        harness_overhead(10 if quick else 40)
    if "b" in only:
        runner_rss(3 if quick else 7)
    if "c" in only:
        daemon_llm_runs(50, fork_server=True)
        if "--no-compare" not in sys.argv:
            daemon_llm_runs(50, fork_server=False)
