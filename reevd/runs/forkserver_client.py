"""The daemon's end of the runner fork server (runner/forkserver.py).

One server process imports the runner, solders and openai once and forks each run from
itself, so a run starts in milliseconds and shares those pages instead of paying ~60 MB and
up to a second of CPU for its own imports.

Everything stays event-driven: the server's readiness and each child's exit code arrive as
messages on a SOCK_SEQPACKET socketpair watched by the event loop; a child's exit itself is
its pidfd becoming readable (the server sends it with the reply, opened before the child could
be reaped); the server's own death is its pidfd, and triggers a restart. A spawn is one
synchronous request/reply, like Popen's fork+exec, which also blocks until the child exists.

If the server is gone, runs it started keep running (own sessions): their pidfds still fire,
their exit code is then unknown and the session file decides, as after a daemon restart.
"""

from __future__ import annotations

import array
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
import structlog

from reevd.runs.process import open_pidfd

log = structlog.get_logger("reevd.forkserver")

MAX_MESSAGE = 128 * 1024  # runner/forkserver.py refuses longer requests
SPAWN_TIMEOUT_S = 5.0  # a fork takes milliseconds; past this the server is considered broken
START_TIMEOUT_S = 60.0  # imports on a loaded 2-core machine
MAX_RESTARTS = 3  # within RESTART_WINDOW_S; past that, Popen for good
RESTART_WINDOW_S = 60.0
EXIT_REPORT_TIMEOUT_S = 2.0  # the server reports right after reaping; bounded in case it died meanwhile


class ForkServerUnavailable(Exception):
    """Nothing was started: the caller may use Popen instead."""


class ForkServerLost(OSError):
    """The server broke mid-request: a child may or may not exist, so do not start another."""


class ForkServer:
    def __init__(self, cwd: Path, on_change: Callable[[], None], python: str = sys.executable) -> None:
        self._cwd = cwd
        self._on_change = on_change  # readiness changed: the launcher pumps its queues
        self._python = python
        self._state = "down"  # down | starting | ready | failed
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._pidfd = -1
        self._start_timer: asyncio.TimerHandle | None = None
        self._generation = 0
        self._children: dict[int, int] = {}  # child pid -> server generation that forked it
        self._codes: dict[int, int] = {}  # exit reports not yet asked for
        self._waiters: dict[int, asyncio.Future[int | None]] = {}
        self._starts: list[float] = []
        self._closing = False
        self._next_id = 0
        self._exited: asyncio.Event | None = None

    @property
    def starting(self) -> bool:
        return self._state == "starting"

    @property
    def ready(self) -> bool:
        return self._state == "ready"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._state in ("starting", "ready") else None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        now = time.monotonic()
        self._starts = [t for t in self._starts if now - t < RESTART_WINDOW_S] + [now]
        if len(self._starts) > MAX_RESTARTS + 1:
            self._fail(f"it died {MAX_RESTARTS + 1} times within {RESTART_WINDOW_S:g} s")
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                # -P: not the cwd (the daemon's root, user data) on sys.path: only the installed runner is imported.
                [self._python, "-P", "-m", "runner.forkserver", "--fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), cwd=self._cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's signals or the daemon's group are not its business
            )
        except OSError as exc:
            ours.close()
            self._fail(f"cannot start it: {exc}")
            return
        finally:
            theirs.close()
        pidfd = open_pidfd(self._proc.pid)
        if pidfd is None:
            self._proc.kill()
            self._proc.wait()
            ours.close()
            self._fail("pidfd_open is not available")
            return
        self._generation += 1
        self._sock, self._pidfd, self._state = ours, pidfd, "starting"
        self._exited = asyncio.Event()
        ours.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(ours.fileno(), self._on_readable)
        loop.add_reader(pidfd, self._on_server_exit)
        self._start_timer = loop.call_later(START_TIMEOUT_S, self._on_start_timeout)
        log.info("forkserver_starting", pid=self._proc.pid, generation=self._generation)

    def _fail(self, why: str) -> None:
        self._state = "failed"
        log.warning("forkserver_unavailable", reason=why, fallback="each run imports on its own (Popen)")
        self._on_change()

    def _on_start_timeout(self) -> None:
        if self._state == "starting" and self._proc is not None:
            log.warning("forkserver_start_timeout", timeout_s=START_TIMEOUT_S)
            self._proc.kill()  # its exit event restarts or gives up

    def _on_server_exit(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        returncode = self._proc.wait() if self._proc is not None else None
        self._drop_socket()
        if self._start_timer is not None:
            self._start_timer.cancel()
        generation = self._generation
        for pid, waiter in list(self._waiters.items()):  # no report will come from this server
            if self._children.get(pid) == generation and not waiter.done():
                waiter.set_result(None)
        if self._exited is not None:
            self._exited.set()
        if self._closing:
            return
        log.warning("forkserver_exited", returncode=returncode, restarting=True)
        self._state = "down"
        self.start()
        self._on_change()

    def _drop_socket(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    async def close(self) -> None:
        """Daemon shutdown: close our end; the server exits on its own, its children keep running."""
        self._closing = True
        if self._start_timer is not None:
            self._start_timer.cancel()
        self._drop_socket()
        if self._state == "starting" and self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # still importing, so it would see the closed socket only then; it has no children
        if self._pidfd >= 0 and self._exited is not None:
            try:
                await asyncio.wait_for(self._exited.wait(), 2.0)
            except asyncio.TimeoutError:
                if self._proc is not None:
                    self._proc.kill()  # runs are in their own sessions: this kills only the server
                    self._proc.wait()
                self._on_server_exit()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(None)

    # --- messages ----------------------------------------------------------------------------

    def _receive(self) -> tuple[dict[str, Any], list[int]] | None:
        """One message (None on EOF); raises BlockingIOError when there is none yet."""
        assert self._sock is not None
        fds = array.array("i")
        data, ancdata, flags, _ = self._sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(fds.itemsize * 4))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not data:
            for fd in fds:
                os.close(fd)
            return None
        try:
            message = orjson.loads(data)
            if not isinstance(message, dict) or flags & socket.MSG_TRUNC:
                raise ValueError("not an object")
        except ValueError:
            for fd in fds:
                os.close(fd)
            log.error("forkserver_bad_message", size=len(data))
            return {}, []
        return message, list(fds)

    def _on_readable(self) -> None:
        while self._sock is not None:
            try:
                received = self._receive()
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("forkserver_socket_error", error=repr(exc))
                received = None
            if received is None:  # the server is going away; its pidfd tells us when it is gone
                self._drop_socket()
                return
            self._dispatch(*received)

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        if message.get("ready"):
            if self._start_timer is not None:
                self._start_timer.cancel()
            self._state = "ready"
            log.info("forkserver_ready", pid=message.get("pid"), generation=self._generation)
            self._on_change()
        elif "exit" in message:
            pid, code = message["exit"], message.get("returncode")
            if isinstance(pid, int) and isinstance(code, int) and pid in self._children:
                waiter = self._waiters.pop(pid, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(code)
                else:
                    self._codes[pid] = code
        elif "id" in message:  # a reply nobody waits for any more (its spawn timed out)
            pid = message.get("pid")
            log.error("forkserver_late_reply", pid=pid, error=message.get("error"))
            if isinstance(pid, int) and fds:  # its run was already declared failed: it must not run unwatched
                try:
                    signal.pidfd_send_signal(fds[0], signal.SIGKILL)
                except OSError:
                    pass
        for fd in fds:
            os.close(fd)

    # --- spawning ----------------------------------------------------------------------------

    def spawn(self, argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> tuple[int, int]:
        """Fork a runner; returns (pid, pidfd). ForkServerUnavailable: nothing started."""
        if self._state != "ready" or self._sock is None:
            raise ForkServerUnavailable(f"fork server is {self._state}")
        self._next_id += 1
        rid = str(self._next_id)
        request = orjson.dumps({"id": rid, "argv": argv, "env": dict(env), "cwd": str(cwd), "log": str(log_path)})
        if len(request) > MAX_MESSAGE:
            raise ForkServerUnavailable(f"request of {len(request)} bytes is over {MAX_MESSAGE}")
        sock = self._sock
        sock.settimeout(SPAWN_TIMEOUT_S)  # blocking for this exchange only; the loop is not running now
        try:
            try:
                sock.send(request)  # SOCK_SEQPACKET: all or nothing
            except OSError as exc:
                raise ForkServerUnavailable(f"fork server socket: {exc}") from None
            deadline = time.monotonic() + SPAWN_TIMEOUT_S
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    received = self._receive()
                except (TimeoutError, OSError) as exc:
                    self._kill_server()
                    raise ForkServerLost(f"fork server did not answer: {exc!r}") from None
                if received is None:
                    self._kill_server()
                    raise ForkServerLost("fork server closed its socket during a request")
                message, fds = received
                if message.get("id") != rid:
                    self._dispatch(message, fds)
                    continue
                if "error" in message:
                    for fd in fds:
                        os.close(fd)
                    raise ForkServerUnavailable(f"fork server: {message['error']}")
                pid = message.get("pid")
                if not isinstance(pid, int) or len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    self._kill_server()
                    raise ForkServerLost(f"fork server: malformed reply {message!r}")
                self._children[pid] = self._generation
                return pid, fds[0]
        finally:
            if self._sock is sock:
                sock.setblocking(False)

    def _kill_server(self) -> None:
        """A broken server: kill it (runs are in their own sessions); its exit event restarts it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._state = "down"

    # --- exits ---------------------------------------------------------------------------------

    def owns(self, pid: int) -> bool:
        return pid in self._children

    async def returncode(self, pid: int) -> int | None:
        """The exit code the server reported for its child (None if the server is gone)."""
        try:
            if pid in self._codes:
                return self._codes.pop(pid)
            if self._children.get(pid) != self._generation or self._state not in ("starting", "ready"):
                return None
            waiter = self._waiters.get(pid)
            if waiter is None:
                waiter = self._waiters[pid] = asyncio.get_running_loop().create_future()
            try:
                return await asyncio.wait_for(asyncio.shield(waiter), EXIT_REPORT_TIMEOUT_S)
            except asyncio.TimeoutError:
                log.warning("forkserver_exit_unreported", pid=pid)
                return None
        finally:
            self._children.pop(pid, None)
            self._waiters.pop(pid, None)
            self._codes.pop(pid, None)
