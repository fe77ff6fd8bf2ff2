"""Launching, stopping and timing out runs through the API, with the real runner and test doubles."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, Daemon, eventually, write_stub_runner

pytestmark = pytest.mark.e2e

# A runner double: records start/end, optionally spawns a grandchild, waits for a "go" file
# (test code may wait; the daemon never does), then writes the session like the runner.
STUB = r'''
bench, agent, eid, sessions = args[0], args[1].split("=", 1)[1], args[2].split("=", 1)[1], args[3].split("=", 1)[1]
root = os.getcwd()
mode = os.environ.get("STUB_MODE", "finish")
number = os.path.basename(bench)[:3]
with open(os.path.join(root, "intervals.log"), "a") as fh:
    fh.write(f"start {time.monotonic_ns()} {eid}\n")
if mode == "hang":
    import subprocess
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(os.path.join(root, f"{eid}.pids"), "w").write(f"{os.getpid()} {child.pid}")
    time.sleep(600)
if mode == "gate":
    open(os.path.join(root, f"{eid}.pid"), "w").write(str(os.getpid()))
    gate = os.path.join(root, "go-early" if number in ("001", "003", "004") else "go-late")
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
if number in ("004", "008"):
    sys.exit(3)  # dies without writing a session file
otel = os.path.join(sessions, f"enhanced_otel_{eid}.jsonl")
with open(otel, "a") as fh:
    fh.write(json.dumps({"timestamp": "2026-11-21T00:00:00Z", "session_id": eid, "event_type": "Prompt", "metadata": {}}) + "\n")
ok = number not in ("003", "005")
doc = {"session_id": eid, "benchmark_id": os.path.basename(bench)[:-4], "agent_type": agent, "start_time": 1, "end_time": 2,
       "events": [], "final_result": {"success": ok, "score": 1.0 if ok else 0.5, "status": "Succeeded" if ok else "Failed",
       "execution_time_ms": 1, "data": {"prompt": "p", "steps": []}}}
tmp = os.path.join(sessions, f".session_{eid}.json.tmp")
open(tmp, "w").write(json.dumps(doc))
os.replace(tmp, os.path.join(sessions, f"session_{eid}.json"))
with open(os.path.join(root, "intervals.log"), "a") as fh:
    fh.write(f"end {time.monotonic_ns()} {eid}\n")
'''


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(REPO / "benchmarks", root / "benchmarks")
    return root


def stub_daemon(daemon_factory, tmp_path: Path, mode: str, *extra: str) -> Daemon:
    root = make_root(tmp_path)
    cmd = write_stub_runner(tmp_path / "stub.py", STUB)
    return daemon_factory(root, extra_args=["--runner-cmd", " ".join(cmd), *extra], env={"STUB_MODE": mode})


def run(d: Daemon, benchmark: str = "001-sol-transfer", **body: object) -> str:
    status, payload = d.post(f"/benchmarks/{benchmark}/run", {"agent": "deterministic", **body})
    assert status == 200, payload
    assert set(payload) >= {"execution_id", "status", "duration_ms", "result", "error", "logs", "tool_calls"}
    return payload["execution_id"]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_real_runner_001_completes_with_score_and_events(daemon_factory, tmp_path: Path) -> None:
    """001 through the API reaches Completed, score 1.0, with its OTEL events ingested."""
    d = daemon_factory(make_root(tmp_path)).start()
    eid = run(d)
    row = d.wait_status(eid, {"Completed", "Failed"}, timeout=30)
    assert row["status"] == "Completed" and row["score"] == pytest.approx(1.0)
    assert row["result_data"]["final_result"]["status"] == "Succeeded"
    # Completion comes from the session file; the exit event may land a moment later.
    eventually(lambda: d.execution(eid)["exit_code"] == 0, message="exit code recorded")
    status, events = d.get(f"/executions/{eid}/events")
    types = [e["event_type"] for e in events["events"]]
    assert types[0] == "Prompt" and "ToolInput" in types and "StepComplete" in types


def test_real_runner_003_fails_with_partial_score(daemon_factory, tmp_path: Path) -> None:
    """The 003 equivalent ends Failed with score 0.75 in result_data."""
    d = daemon_factory(make_root(tmp_path)).start()
    eid = run(d, "003-spl-transfer-fail")
    row = d.wait_status(eid, {"Completed", "Failed"}, timeout=30)
    assert row["status"] == "Failed"
    assert row["result_data"]["score"] == pytest.approx(0.75) and row["score"] == pytest.approx(0.75)


def test_cli_run_wait_reports_and_exits_by_outcome(daemon_factory, tmp_path: Path) -> None:
    """`reevd run --wait` prints the score and status, exit 0 for Completed and 1 for Failed."""
    d = daemon_factory(make_root(tmp_path)).start()
    ok = subprocess.run([sys.executable, "-m", "reevd", "run", "001-sol-transfer", "--wait", "--url", d.url],
                        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert "Completed" in ok.stdout and "score=1" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "reevd", "run", "003-spl-transfer-fail", "--wait", "--json", "--url", d.url],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["status"] == "Failed"
    missing = subprocess.run([sys.executable, "-m", "reevd", "run", "no-such-bench", "--url", d.url],
                             capture_output=True, text=True, timeout=60, cwd=REPO)
    assert missing.returncode == 1 and "not found" in missing.stderr and missing.stderr.count("\n") == 1


def test_validation_refuses_bad_ids_agents_and_paths(daemon_factory, tmp_path: Path) -> None:
    """Unknown benchmark 404, unknown agent 400 naming the known ones, path tricks 4xx; all JSON."""
    root = make_root(tmp_path)
    os.symlink("/etc/passwd", root / "benchmarks" / "evil.yml")
    os.symlink("loop.yml", root / "benchmarks" / "loop.yml")  # a link to itself
    d = daemon_factory(root).start()
    status, body = d.post("/benchmarks/nope/run", {"agent": "deterministic"})
    assert status == 404 and body["error"] == "not_found"
    status, body = d.post("/benchmarks/001-sol-transfer/run", {"agent": "gemini-nothing"})
    assert status == 400 and "deterministic" in body["message"] and "agent" in body["message"]
    for trick in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2Fetc%2Fpasswd", "evil", "loop", "a%00b"):
        status, body = d.post(f"/benchmarks/{trick}/run", {"agent": "deterministic"})
        assert 400 <= status < 500 and set(body) == {"error", "message"}, (trick, status, body)
    status, body = d.post("/benchmarks/001-sol-transfer/run", {"agent": 5})
    assert status == 400 and "agent" in body["message"]
    status, body = d.post("/benchmarks/001-sol-transfer/run", {"agent": "deterministic", "timeout_s": -1})
    assert status == 400 and "timeout_s" in body["message"]
    from tests.helpers import http
    status, body, _ = http("POST", f"{d.api}/benchmarks/001-sol-transfer/run", b"{not json")
    assert status == 400 and body["error"] == "invalid_request"
    assert d.get("/health")[1]["status"] == "healthy"


def test_stop_kills_the_process_group(daemon_factory, tmp_path: Path) -> None:
    """A hanging run is Stopped within 1 s of the request and its whole process group is gone."""
    d = stub_daemon(daemon_factory, tmp_path, "hang").start()
    eid = run(d)
    pids_file = d.root / f"{eid}.pids"
    pids = eventually(lambda: pids_file.exists() and pids_file.read_text().split(), message="stub pids")
    t0 = time.monotonic()
    status, body = d.post(f"/benchmarks/001-sol-transfer/stop/{eid}")
    assert status == 200 and body["status"] == "Stopped"
    assert time.monotonic() - t0 < 1.0
    for pid in map(int, pids):
        eventually(lambda: gone(pid), timeout=5, message=f"pid {pid} gone")
    status, body = d.post(f"/executions/{eid}/cancel")
    assert status == 409 and body["error"] == "already_ended"


def test_timeout_ends_as_timeout(daemon_factory, tmp_path: Path) -> None:
    """A run past its timeout is terminated by a timer and ends as Timeout."""
    d = stub_daemon(daemon_factory, tmp_path, "hang").start()
    eid = run(d, timeout_s=0.5)
    row = d.wait_status(eid, {"Timeout", "Completed", "Failed", "Stopped"}, timeout=10)
    assert row["status"] == "Timeout" and "timed out" in row["error_message"]


def test_concurrency_limit_holds_for_32_runs(daemon_factory, tmp_path: Path) -> None:
    """32 runs posted at once with a limit of 2 all end correctly and never overlap by more than 2."""
    d = stub_daemon(daemon_factory, tmp_path, "finish", "--max-concurrency", "2").start()
    ids = [run(d, benchmark="002-spl-transfer") for _ in range(32)]
    assert len(set(ids)) == 32
    for eid in ids:
        row = d.wait_status(eid, {"Completed", "Failed", "Stopped", "Timeout"}, timeout=60)
        assert row["status"] == "Completed", row
    events = sorted((int(ts), kind) for kind, ts, _ in (line.split() for line in (d.root / "intervals.log").read_text().splitlines()))
    alive = peak = 0
    for _, kind in events:
        alive += 1 if kind == "start" else -1
        peak = max(peak, alive)
    assert len(events) == 64 and peak <= 2


def test_daemon_kill9_with_8_runs_in_flight(daemon_factory, tmp_path: Path) -> None:
    """After kill -9 of the daemon with 8 runs in flight and a restart, each run ends in its true state.

    Half finish while the daemon is down (found by the startup scan or judged lost), half are
    still alive at restart (re-attached through a pidfd and followed to their end).
    """
    d = stub_daemon(daemon_factory, tmp_path, "gate", "--max-concurrency", "8").start()
    plan = {  # benchmark -> true final state
        "001-sol-transfer": "Completed", "003-spl-transfer-fail": "Failed", "004-partial-score-spl-transfer": "Failed",
        "002-spl-transfer": "Completed", "005-spl-transfer-create-recipient-ata": "Failed", "008-sol-transfer-insufficient-funds": "Failed",
    }
    runs = [(b, run(d, b)) for b in [*plan, "001-sol-transfer", "002-spl-transfer"]]
    for _, eid in runs:
        eventually(lambda eid=eid: (d.root / f"{eid}.pid").exists(), message="stub started")
    d.kill9()
    (d.root / "go-early").write_text("go")  # these finish (or die) while no daemon is running
    early = [eid for b, eid in runs if b[:3] in ("001", "003", "004")]
    for eid in early:
        pid = int((d.root / f"{eid}.pid").read_text())
        eventually(lambda pid=pid: gone(pid), message="early runner finished")
    d2 = daemon_factory(d.root, port=d.port, extra_args=d.extra_args, env=d.env).start()
    (d.root / "go-late").write_text("go")  # these end while the new daemon follows them
    for benchmark, eid in runs:
        row = d2.wait_status(eid, {"Completed", "Failed", "Stopped", "Timeout"}, timeout=30)
        assert row["status"] == plan[benchmark], (benchmark, row)
        if benchmark.startswith("004"):
            assert "lost while the daemon was down" in row["error_message"]
        if benchmark.startswith("008"):
            assert "without writing a session file" in row["error_message"]


def test_runner_killed_by_sigkill_fails_with_signal(daemon_factory, tmp_path: Path) -> None:
    """A runner killed with -9 ends Failed with the signal named in error_message."""
    d = stub_daemon(daemon_factory, tmp_path, "hang").start()
    eid = run(d)
    pids = eventually(lambda: (p := d.root / f"{eid}.pids").exists() and p.read_text().split(), message="pids")
    os.kill(int(pids[0]), signal.SIGKILL)
    row = d.wait_status(eid, {"Failed"}, timeout=5)
    assert "SIGKILL" in row["error_message"] and row["exit_code"] == -9


def test_a_chatty_runner_log_stays_bounded_while_it_runs(daemon_factory, tmp_path: Path) -> None:
    """A runner printing megabytes has its log trimmed to the bound during the run, its head kept, and what it prints after a trim lands at the end."""
    root = make_root(tmp_path)
    chatty = write_stub_runner(tmp_path / "chatty.py", (
        "eid = args[2].split('=', 1)[1]\n"
        "here = lambda name: os.path.join(os.getcwd(), eid + name)\n"
        "print('FIRST LINE', flush=True)\n"
        "for i in range(400):\n"
        "    sys.stdout.write(f'line {i:04d} ' + 'x' * 10000 + '\\n'); sys.stdout.flush()\n"
        "open(here('.done'), 'w').close()\n"
        # The last line only once the test saw the log trimmed: a trim racing the runner's last
        # writes may lose the few written between its final size check and its truncate.
        "while not os.path.exists(here('.go')): time.sleep(0.01)\n"
        "print('LAST LINE', flush=True)\n"
        "time.sleep(600)\n"
    ))
    d = daemon_factory(root, extra_args=["--runner-cmd", " ".join(chatty), "--run-log-max-bytes", "262144"]).start()
    eid = run(d)
    eventually(lambda: (d.root / f"{eid}.done").exists(), timeout=30, message="4 MB printed")
    log_path = d.root / "logs" / "runs" / f"{eid}.log"
    eventually(lambda: log_path.stat().st_size <= 262144, timeout=10, message="log trimmed while the runner runs")
    (d.root / f"{eid}.go").touch()
    text = eventually(lambda: (t := log_path.read_text()).endswith("LAST LINE\n") and t, timeout=10, message="last line logged")
    assert text.startswith("FIRST LINE\n") and "bytes cut" in text and len(text) <= 262144
    assert d.execution(eid)["status"] == "Running"
    d.post(f"/executions/{eid}/cancel")
