"""Crash-consistency cycles, shared by the short test (tests/faults) and the long run (perf/chaos.py).

Writers append OTEL lines and drop session files while runs are launched through the API;
the daemon is killed with SIGKILL at random moments and restarted. At the end the database is
compared with the files: nothing lost, nothing duplicated, no wrong state, no run run twice.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO, Daemon, eventually, http


@dataclass
class Report:
    cycles: int = 0
    runs: int = 0
    otel_files: int = 0
    otel_lines: int = 0
    session_files: int = 0
    problems: list[str] = field(default_factory=list)


def _line(eid: str, n: int) -> bytes:
    return json.dumps({"timestamp": "2026-11-21T00:00:00.000Z", "session_id": eid, "event_type": "ToolInput",
                       "tool_input": {"tool_name": f"t{n}"}, "metadata": {"n": n}}).encode() + b"\n"


def _session(eid: str, ok: bool) -> bytes:
    return json.dumps({"session_id": eid, "benchmark_id": "chaos", "agent_type": "deterministic",
                       "final_result": {"success": ok, "score": 1.0 if ok else 0.0,
                                        "status": "Succeeded" if ok else "Failed"}}).encode()


class Writers(threading.Thread):
    """Appends lines to OTEL files (sometimes in two writes, as a crash mid-line would leave them)
    and renames session files in, until stopped."""

    def __init__(self, sessions: Path, seed: int) -> None:
        super().__init__(daemon=True)
        self.sessions = sessions
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.lines: dict[str, int] = {}
        self.verdicts: dict[str, bool] = {}

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            n += 1
            eid = f"otel-{self.rng.randrange(12)}"
            data = _line(eid, self.lines.get(eid, 0))
            with open(self.sessions / f"enhanced_otel_{eid}.jsonl", "ab") as fh:
                cut = self.rng.randrange(1, len(data))
                fh.write(data[:cut])
                fh.flush()
                fh.write(data[cut:])
            self.lines[eid] = self.lines.get(eid, 0) + 1
            if n % 7 == 0:
                sid = f"sess-{n}"
                ok = self.rng.random() < 0.5
                tmp = self.sessions / f".session_{sid}.json.tmp"
                tmp.write_bytes(_session(sid, ok))
                os.replace(tmp, self.sessions / f"session_{sid}.json")
                self.verdicts[sid] = ok
            self.halt.wait(self.rng.uniform(0, 0.004))


def crash_cycles(tmp: Path, cycles: int, seed: int = 1, runs_per_cycle: int = 2) -> Report:
    rng = random.Random(seed)
    root = tmp / "root"
    shutil.copytree(REPO / "benchmarks", root / "benchmarks")
    daemon = Daemon(root=root)
    daemon.start()
    writers = Writers(daemon.sessions, seed)
    writers.start()
    report = Report()
    posted: list[str] = []
    try:
        for _ in range(cycles):
            for _ in range(runs_per_cycle):
                status, body, _ = http("POST", f"{daemon.api}/benchmarks/001-sol-transfer/run", {"agent": "deterministic"})
                if status == 200:
                    posted.append(body["execution_id"])
            time.sleep(rng.uniform(0, 0.3))  # the perturbation: a random moment to crash at
            daemon.kill9()
            report.cycles += 1
            daemon.start()
        writers.halt.set()
        writers.join()
        _settle(daemon, writers, posted)
        _compare(daemon, writers, posted, report)
    finally:
        writers.halt.set()
        daemon.stop()
    return report


def _settle(daemon: Daemon, writers: Writers, posted: list[str]) -> None:
    def done() -> bool:
        for eid in posted:
            row = daemon.execution(eid)
            if row is None or row["status"] in ("Queued", "Running"):
                return False
        for eid, lines in writers.lines.items():
            row = daemon.execution(eid)
            if row is None or row["events_count"] != lines:
                return False
        return all(daemon.execution(sid) is not None for sid in writers.verdicts)
    eventually(done, 120, "every run settled and every file ingested")


def _compare(daemon: Daemon, writers: Writers, posted: list[str], report: Report) -> None:
    db = sqlite3.connect(f"file:{daemon.root / 'db' / 'reevd.sqlite3'}?mode=ro", uri=True)
    try:
        for eid, lines in writers.lines.items():
            offsets = [r[0] for r in db.execute("SELECT offset FROM events WHERE execution_id = ? ORDER BY offset", (eid,))]
            expected, pos = [], 0
            with open(daemon.sessions / f"enhanced_otel_{eid}.jsonl", "rb") as fh:
                for line in fh:
                    expected.append(pos)
                    pos += len(line)
            if offsets != expected:
                report.problems.append(f"{eid}: {len(offsets)} events stored, {len(expected)} lines in the file")
            report.otel_files += 1
            report.otel_lines += lines
        for sid, ok in writers.verdicts.items():
            row = daemon.execution(sid)
            want = "Completed" if ok else "Failed"
            if row is None or row["status"] != want:
                report.problems.append(f"{sid}: {row and row['status']} instead of {want}")
            report.session_files += 1
        for eid in posted:
            row = daemon.execution(eid)
            prompts = db.execute("SELECT COUNT(*) FROM events WHERE execution_id = ? AND event_type = 'Prompt'", (eid,)).fetchone()[0]
            if row is None or row["status"] != "Completed":
                report.problems.append(f"run {eid}: {row and row['status']}: {row and row['error_message']}")
            elif prompts != 1:
                report.problems.append(f"run {eid}: ran {prompts} times")
            report.runs += 1
    finally:
        db.close()
