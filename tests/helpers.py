"""Shared test helpers: a real daemon subprocess, free ports, waiting on conditions with deadlines."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CAPTURES = SHARED / "reev-captures"
FIXTURES = REPO / "tests" / "fixtures"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], T | None], timeout: float = 10.0, message: str = "condition") -> T:
    """Return check()'s first truthy value; fail with the last error/value after `timeout` s.

    The only waiting tests do: on a condition, with a deadline (never sleep-then-assert).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    delay = 0.005
    while True:
        try:
            value = check()
            if value:
                return value
            last = value
        except (AssertionError, OSError, urllib.error.URLError, ValueError, KeyError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last: {last!r}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status, hdrs = resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        raw, status, hdrs = exc.read(), exc.code, dict(exc.headers)
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    return status, payload, hdrs


@dataclass
class Daemon:
    """A real `python -m reevd serve` on a temp root and a free port."""

    root: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def sessions(self) -> Path:
        return self.root / "logs" / "sessions"

    def start(self, wait: bool = True) -> "Daemon":
        (self.root / "logs" / "sessions").mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / "daemon.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reevd", "serve", "--root", str(self.root), "--port", str(self.port), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env={**os.environ, **self.env},
            preexec_fn=self.preexec,
        )
        log.close()
        if wait:
            eventually(self._healthy, timeout=20, message=f"daemon on port {self.port} (log {self.log_path})")
        return self

    def preexec(self) -> None:
        """Runs in the daemon's process before exec (a subclass sets limits here)."""

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
        status, body, _ = http("GET", f"{self.api}/health", timeout=2)
        return status == 200 and body["status"] == "healthy"

    def get(self, path: str) -> tuple[int, Any]:
        status, body, _ = http("GET", f"{self.api}{path}")
        return status, body

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        status, payload, _ = http("POST", f"{self.api}{path}", body if body is not None else {})
        return status, payload

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        status, body = self.get(f"/executions/{execution_id}")
        return body if status == 200 else None

    def wait_status(self, execution_id: str, statuses: set[str], timeout: float = 15) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            row = self.execution(execution_id)
            return row if row and row["status"] in statuses else None
        try:
            return eventually(check, timeout, f"{execution_id} in {statuses}")
        except AssertionError as exc:  # say what the daemon saw, for a failure far from here (CI)
            raise AssertionError(f"{exc}\nrow: {self.execution(execution_id)}\ndaemon log tail:\n{self.log_tail()}") from None

    def events(self, event: str) -> list[dict[str, Any]]:
        """The daemon's JSON log records named `event`, in order."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == event:
                out.append(record)
        return out

    def runner_pid(self, execution_id: str, timeout: float = 10) -> int:
        """The runner's pid as the daemon logged it (a forked runner's argv is its fork server's)."""
        return eventually(lambda: next((e["pid"] for e in self.events("run_started") if e.get("execution_id") == execution_id), None),
                          timeout, f"run_started for {execution_id}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


def atomic_drop(folder: Path, name: str, data: bytes) -> Path:
    """Write like the runner: temp name in the same folder, then rename."""
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    final = folder / name
    os.replace(tmp, final)
    return final


def write_stub_runner(path: Path, body: str) -> list[str]:
    """A test double for the runner command (a real process; body is Python)."""
    path.write_text("import sys, os, time, json, signal\nargs = sys.argv[1:]\n" + body)
    return [sys.executable, str(path)]
