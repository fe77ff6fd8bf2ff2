"""Runs forked from the runner fork server: real daemon, real fork server, real runner, fake OpenAI server."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI, Turn, by_turn
from tests.e2e.test_daemon_launch import make_root
from tests.helpers import Daemon, eventually
from tests.runner.llm_scripts import SOLUTIONS

pytestmark = pytest.mark.e2e

KEY = "sk-forked-SECRET-7781"
AGENT = "openai:fake-model"


def _env() -> dict[str, str]:
    return {k: "" for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REEV_LLM_CACHE_DIR", "REEVD_FORK_SERVER", "REEVD_RUNNER_CMD")}


def _slow(first_delay_s: float) -> list[Turn]:
    first, last = SOLUTIONS["001-sol-transfer"]
    return [Turn(calls=first.calls, delay_s=first_delay_s), last]


def _server_pids(d: Daemon) -> list[int]:
    return [e["pid"] for e in d.events("forkserver_ready")]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _ppid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError("no PPid")


def _start(d: Daemon, agent: str = AGENT) -> str:
    status, started = d.post("/benchmarks/001-sol-transfer/run", {"agent": agent})
    assert status == 200, started
    return str(started["execution_id"])


def test_runs_fork_from_the_server_with_the_key_in_env_only(tmp_path: Path, daemon_factory: Any) -> None:
    """Deterministic and LLM runs are children of the fork server, score 1.0, and the key is in the child's environment, not its argv."""
    root = make_root(tmp_path)
    trap = root / "runner"  # the server runs in the daemon's root: a package there must not shadow the installed runner
    trap.mkdir()
    (trap / "__init__.py").write_text("raise SystemExit('runner imported from the daemon root')\n")
    with FakeOpenAI(by_turn(_slow(1.5)), key=KEY) as fake:
        d: Daemon = daemon_factory(root=root, env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        server = eventually(lambda: _server_pids(d), 30, "fork server ready")[0]
        det = _start(d, "deterministic")
        llm = _start(d)
        pid = d.runner_pid(llm)
        assert _ppid(pid) == server and os.getsid(pid) == pid  # forked, in its own session
        assert KEY.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        # /proc/<pid>/environ of a forked process shows its fork server's start-up block, not the
        # environment it was given; the daemon's own environment has no key (see _env), so the fake
        # server receiving it as the bearer token proves it reached the child through the request.
        assert KEY.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "reev-runner"
        rows = [d.wait_status(x, {"Completed", "Failed"}, timeout=60) for x in (det, llm)]
    assert fake.violations == [] and fake.headers and all(h.get("Authorization") == f"Bearer {KEY}" for h in fake.headers)
    assert [(r["status"], r["score"]) for r in rows] == [("Completed", 1.0), ("Completed", 1.0)], rows
    assert all(e["forked"] for e in d.events("run_started"))
    # A run's status can be visible (its session ingested) before its exit is handled and logged.
    exits = eventually(lambda: [e["returncode"] for e in d.events("run_exited")] if len(d.events("run_exited")) == 2 else None,
                       10, "both exits handled")
    assert exits == [0, 0]
    for path in [*(d.root / "logs").rglob("*"), d.log_path]:
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path


def test_a_forked_run_killed_by_sigkill_fails_naming_the_signal(tmp_path: Path, daemon_factory: Any) -> None:
    """kill -9 on a forked runner: Failed, and the message names SIGKILL (the exit code comes from the fork server)."""
    with FakeOpenAI(by_turn(_slow(30)), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        execution_id = _start(d)
        pid = d.runner_pid(execution_id)
        eventually(lambda: fake.requests, 20, "the runner's first model request")
        os.kill(pid, signal.SIGKILL)
        row = d.wait_status(execution_id, {"Failed", "Completed"}, timeout=20)
    assert row["status"] == "Failed" and "SIGKILL" in (row["error_message"] or ""), row


def test_killing_the_fork_server_loses_no_run(tmp_path: Path, daemon_factory: Any) -> None:
    """The fork server killed mid-run: the in-flight run still finishes and is ingested, the server restarts, the next run works."""
    with FakeOpenAI(by_turn(_slow(2.0)), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        server = eventually(lambda: _server_pids(d), 30, "fork server ready")[0]
        in_flight = _start(d)
        d.runner_pid(in_flight)
        os.kill(server, signal.SIGKILL)
        eventually(lambda: len(_server_pids(d)) == 2, 30, "a restarted fork server")
        first = d.wait_status(in_flight, {"Completed", "Failed"}, timeout=60)
        after = _start(d)
        pid = d.runner_pid(after)
        second = d.wait_status(after, {"Completed", "Failed"}, timeout=60)
    assert (first["status"], first["score"]) == ("Completed", 1.0), first
    assert (second["status"], second["score"]) == ("Completed", 1.0), second
    assert _server_pids(d)[1] != server and not _alive(server)
    assert [e for e in d.events("run_started") if e["execution_id"] == after][0]["forked"] is True and pid > 0


def test_daemon_stop_leaves_forked_runs_running_and_the_server_exits(tmp_path: Path, daemon_factory: Any) -> None:
    """SIGTERM to the daemon: the forked run keeps running and writes its session file; the fork server exits."""
    with FakeOpenAI(by_turn(_slow(2.0)), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        server = eventually(lambda: _server_pids(d), 30, "fork server ready")[0]
        execution_id = _start(d)
        pid = d.runner_pid(execution_id)
        eventually(lambda: fake.requests, 20, "the runner's first model request")
        assert d.stop() == 0
        assert _alive(pid), "the run died with the daemon"
        eventually(lambda: not _alive(server), 10, "the fork server to exit")
        session = d.sessions / f"session_{execution_id}.json"
        eventually(session.exists, 30, "the run's session file")
    assert json.loads(session.read_text())["final_result"]["score"] == 1.0
    assert eventually(lambda: not _alive(pid), 10, "the run to end")


def test_stop_and_timeout_end_a_forked_run_and_its_group(tmp_path: Path, daemon_factory: Any) -> None:
    """A forked run stopped through the API ends Stopped, one past its timeout ends Timeout; both processes are gone."""
    with FakeOpenAI(by_turn(_slow(30)), key=KEY) as fake:
        d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
        d.post("/agents/config", {"agent_type": AGENT, "api_url": fake.base_url, "api_key": KEY})
        stopped = _start(d)
        status, timed = d.post("/benchmarks/001-sol-transfer/run", {"agent": AGENT, "timeout_s": 2})
        assert status == 200, timed
        pids = [d.runner_pid(stopped), d.runner_pid(timed["execution_id"])]
        eventually(lambda: len(fake.requests) >= 2, 20, "both runs calling the model")
        status, _body = d.post(f"/benchmarks/001-sol-transfer/stop/{stopped}")
        assert status == 200
        rows = [d.wait_status(stopped, {"Stopped", "Failed", "Completed"}, timeout=20),
                d.wait_status(timed["execution_id"], {"Timeout", "Failed", "Completed"}, timeout=20)]
        assert [r["status"] for r in rows] == ["Stopped", "Timeout"], rows
        for pid in pids:
            eventually(lambda pid=pid: not _alive(pid), 10, f"runner {pid} gone")


def test_a_fork_server_that_keeps_dying_gives_way_to_fresh_processes(tmp_path: Path, daemon_factory: Any) -> None:
    """Killed at every start, the fork server is given up after its restart budget (logged) and runs start as fresh processes."""
    d: Daemon = daemon_factory(root=make_root(tmp_path), env=_env()).start()
    killed: set[int] = set()

    def kill_new_servers() -> bool:
        for event in d.events("forkserver_starting"):
            if event["pid"] not in killed:
                killed.add(event["pid"])
                try:
                    os.kill(event["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return bool(d.events("forkserver_unavailable"))

    eventually(kill_new_servers, 60, "the fork server given up")
    assert len(killed) == 4 and not d.events("forkserver_ready")
    execution_id = _start(d, "deterministic")
    row = d.wait_status(execution_id, {"Completed", "Failed"}, timeout=30)
    assert (row["status"], row["score"]) == ("Completed", 1.0), row
    assert [e["forked"] for e in d.events("run_started")] == [False]
