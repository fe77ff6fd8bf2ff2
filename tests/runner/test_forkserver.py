"""runner/forkserver.py on its own: its protocol, its refusals, and what a forked child gets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO


class Client:
    def __init__(self) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, "-m", "runner.forkserver", "--fd", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), cwd=REPO, stdout=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.sock.settimeout(60)
        self.pending: list[dict[str, Any]] = []
        assert self.receive()[0]["ready"] is True

    def receive(self) -> tuple[dict[str, Any], list[int]]:
        data, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 18, 4)
        return json.loads(data), fds

    def request(self, payload: bytes) -> tuple[dict[str, Any], list[int]]:
        self.sock.send(payload)
        while True:
            message, fds = self.receive()
            if "exit" in message:
                self.pending.append(message)
                continue
            return message, fds

    def exit_of(self, pid: int) -> int:
        while True:
            found = next((m for m in self.pending if m["exit"] == pid), None)
            if found is not None:
                return int(found["returncode"])
            message, fds = self.receive()
            assert "exit" in message and not fds, message
            self.pending.append(message)


@pytest.fixture(scope="module")
def server() -> Iterator[Client]:
    client = Client()
    yield client
    client.sock.close()
    client.proc.wait(10)


def _spawn(server: Client, tmp: Path, argv: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> dict[str, Any]:
    body = {"id": "x", "argv": argv, "env": env or {"PATH": os.environ.get("PATH", "")}, "cwd": str(tmp), "log": str(log or tmp / "run.log")}
    message, fds = server.request(json.dumps(body).encode())
    for fd in fds:
        os.close(fd)
    return message


def test_a_child_runs_the_runner_cli_with_its_own_env_cwd_and_log(server: Client, tmp_path: Path) -> None:
    """A forked run of 001 exits 0, writes its session in its cwd's folder and its output to the log; the pidfd comes with the reply."""
    env = {"PATH": os.environ.get("PATH", ""), "REEV_SESSION_LOG_PATH": "sessions-from-env"}
    body = {"id": "r1", "argv": ["reev-runner", str(REPO / "benchmarks" / "001-sol-transfer.yml"), "--execution-id=fs1"],
            "env": env, "cwd": str(tmp_path), "log": str(tmp_path / "run.log")}
    reply, fds = server.request(json.dumps(body).encode())
    assert reply["id"] == "r1" and reply["pid"] > 0 and len(fds) == 1
    os.close(fds[0])
    assert server.exit_of(reply["pid"]) == 0
    assert (tmp_path / "sessions-from-env" / "session_fs1.json").is_file()  # env and cwd were the request's
    assert "001-sol-transfer" in (tmp_path / "run.log").read_text()


def test_a_usage_error_and_a_failure_are_exit_codes(server: Client, tmp_path: Path) -> None:
    """A bad argv ends the child with the runner's code 2 and its one-line error in the log; the server keeps serving."""
    reply = _spawn(server, tmp_path, ["reev-runner", "no-such-file.yml"])
    assert server.exit_of(reply["pid"]) == 2
    assert "no such file or folder" in (tmp_path / "run.log").read_text()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_the_log_must_be_a_regular_file_not_a_link(server: Client, tmp_path: Path, kind: str) -> None:
    """A run log that is a symlink, a FIFO or a folder is refused with an error reply and nothing forked."""
    log = tmp_path / "run.log"
    if kind == "symlink":
        os.symlink(tmp_path / "elsewhere", log)
    elif kind == "fifo":
        os.mkfifo(log)
    else:
        log.mkdir()
    reply = _spawn(server, tmp_path, ["reev-runner", "x.yml"], log=log)
    assert "pid" not in reply and "error" in reply, reply
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("payload", [b"not json", b"[1]", b'{"id": "q", "argv": [], "env": {}, "cwd": "/", "log": "/tmp/x"}',
                                     b'{"id": "q", "argv": ["a"], "env": {"A=B": "c"}, "cwd": "/", "log": "/tmp/x"}',
                                     b'{"id": "q", "argv": ["a"], "env": {"A": 1}, "cwd": "/", "log": "/tmp/x"}'])
def test_malformed_requests_get_an_error_reply(server: Client, payload: bytes) -> None:
    """Requests that are not JSON objects of the documented shape are answered with an error, never a fork."""
    reply, fds = server.request(payload)
    assert "error" in reply and "pid" not in reply and fds == []


def test_an_oversized_request_is_refused(server: Client) -> None:
    """A request over the message bound is refused, and the server still answers the next one."""
    reply, _ = server.request(b"{" + b" " * (150 * 1024) + b"}")
    assert "longer than" in reply["error"]
    reply, _ = server.request(b"[]")
    assert "error" in reply


def test_the_server_exits_when_its_socket_closes(tmp_path: Path) -> None:
    """Closing the daemon's end ends the server (its children, in their own sessions, are not touched)."""
    client = Client()
    client.sock.close()
    assert client.proc.wait(10) == 0
