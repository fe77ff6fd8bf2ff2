"""A gated runner test double for the ops tests: the test decides when each batch of events appears.

The stub writes OTEL batch 0 at once, batch i after the test creates `go<i>` in the control folder,
and the session file after `go<n>`. `abort` (created at teardown) makes it exit, so no stub outlives
its test even though runs deliberately outlive the daemon.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import Daemon, eventually, write_stub_runner

BENCHMARK = "ops-stub"

STUB_BODY = r'''
from pathlib import Path
ctl = Path(CTL)
opts = dict(a[2:].split("=", 1) for a in args[1:] if a.startswith("--"))
eid = opts["execution-id"]
sessions = Path(opts["sessions-dir"])
plan = json.loads((ctl / "plan.json").read_text())
(ctl / f"pid_{eid}").write_text(str(os.getpid()))

def gate(name):
    deadline = time.monotonic() + 90
    while not (ctl / name).exists():
        if (ctl / "abort").exists() or time.monotonic() > deadline:
            sys.exit(9)
        time.sleep(0.005)  # test double: polls for the test's go-ahead

def event(kind, seq):
    ev = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "session_id": eid,
          "reev_runner_version": "0.1.0", "reev_agent_version": "0.1.0", "event_type": kind,
          "prompt": None, "tool_input": None, "tool_output": None,
          "timing": {"flow_timeuse_ms": seq, "step_timeuse_ms": 1},
          "metadata": {"seq": seq, "benchmark_id": plan["benchmark"], "agent": opts["agent"]}}
    if kind == "Prompt":
        ev["prompt"] = {"tool_name_list": ["sol_transfer"], "user_prompt": f"prompt {seq}", "final_prompt": "p"}
    elif kind == "ToolInput":
        ev["tool_input"] = {"tool_name": "sol_transfer", "tool_args": {"seq": seq}}
    elif kind == "ToolOutput":
        ev["tool_output"] = {"success": True, "results": [seq], "error_message": None}
    return ev

otel = sessions / f"enhanced_otel_{eid}.jsonl"
seq = 0
for i, batch in enumerate(plan["batches"]):
    if i:
        gate(f"go{i}")
    with open(otel, "ab") as fh:
        for kind in batch:
            fh.write(json.dumps(event(kind, seq)).encode() + b"\n")
            fh.flush()
            seq += 1
gate(f"go{len(plan['batches'])}")
session = {"session_id": eid, "benchmark_id": plan["benchmark"], "agent_type": opts["agent"],
           "start_time": 1, "end_time": 2, "events": [],
           "final_result": {"success": plan["success"], "score": 1.0 if plan["success"] else 0.0,
                            "status": "Succeeded" if plan["success"] else "Failed", "execution_time_ms": 1,
                            "data": {"prompt": "p", "steps": []}}}
tmp = sessions / f".session_{eid}.json.tmp"
tmp.write_text(json.dumps(session))
os.replace(tmp, sessions / f"session_{eid}.json")
'''

DEFAULT_BATCHES = [["Prompt", "ToolInput", "ToolOutput"], ["StepComplete", "ToolInput"], ["ToolOutput", "SessionComplete"]]


@dataclass
class StubRuns:
    """A daemon whose runner is the gated stub, and the gates to drive it."""

    daemon: Daemon
    ctl: Path
    batches: list[list[str]]

    def start_run(self) -> str:
        status, body = self.daemon.post(f"/benchmarks/{BENCHMARK}/run", {"agent": "deterministic"})
        assert status in (200, 201, 202), body
        return str(body["execution_id"])

    def release(self, step: int) -> None:
        (self.ctl / f"go{step}").touch()

    def finish(self) -> None:
        for step in range(1, len(self.batches) + 1):
            self.release(step)

    def otel_lines(self, execution_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(byte offset of the line, parsed line) for every complete line the stub wrote."""
        data = (self.daemon.sessions / f"enhanced_otel_{execution_id}.jsonl").read_bytes()
        out, pos = [], 0
        for line in data.splitlines(keepends=True):
            if line.endswith(b"\n"):
                out.append((pos, json.loads(line)))
            pos += len(line)
        return out

    def events_count(self, execution_id: str) -> int:
        row = self.daemon.execution(execution_id)
        return int(row["events_count"]) if row else 0

    def wait_events(self, execution_id: str, count: int) -> None:
        eventually(lambda: self.events_count(execution_id) >= count, 15, f"{count} events ingested")

    def abort(self) -> None:
        (self.ctl / "abort").touch()
        for pid_file in self.ctl.glob("pid_*"):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def stub_runs(daemon_factory: Any, tmp_path: Path, batches: list[list[str]] | None = None,
              success: bool = True, **daemon_kwargs: Any) -> Iterator[StubRuns]:
    """Start a daemon wired to the gated stub; abort every stub at the end."""
    batches = batches or DEFAULT_BATCHES
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    (ctl / "plan.json").write_text(json.dumps({"batches": batches, "success": success, "benchmark": BENCHMARK}))
    stub = tmp_path / "stub_runner.py"
    cmd = write_stub_runner(stub, f"CTL = {str(ctl)!r}\n" + STUB_BODY)
    root = tmp_path / "root"
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / f"{BENCHMARK}.yml").write_text(f"id: {BENCHMARK}\n")
    extra = ["--runner-cmd", shlex.join(cmd), *daemon_kwargs.pop("extra_args", [])]
    daemon = daemon_factory(root=root, extra_args=extra, **daemon_kwargs).start()
    runs = StubRuns(daemon, ctl, batches)
    try:
        yield runs
    finally:
        runs.abort()
