"""Fork server ("zygote") for runner processes: import once, fork one runner per request.

An LLM run spends most of its start-up importing `openai` (~60 MB, 0.5-1.4 s of CPU);
fifty of them at once spend half a minute of CPU doing the same work. This process
imports everything a run needs once, stays single-threaded, and forks a child per
request; the child shares those pages copy-on-write and goes straight to the runner's
normal CLI entry.

Started by the daemon as `python -m runner.forkserver --fd N` with one end of a Unix
SOCK_SEQPACKET socketpair as fd N: one JSON object per message (message boundaries kept by
the kernel, each at most MAX_MESSAGE bytes).
  daemon -> server  {"id": str, "argv": [str], "env": {str: str}, "cwd": str, "log": str}
  server -> daemon  {"ready": true, "pid": int}             once, after the imports
                    {"id": str, "pid": int} + the child's pidfd (SCM_RIGHTS)  | {"id": str, "error": str}
                    {"exit": int, "returncode": int}       per child, like Popen's returncode
The pidfd is opened here before the child can be reaped, so the daemon watches exactly this
process (no pid-reuse window). The child: its own session (setsid), stdin /dev/null, stdout
and stderr appended to the run's log (opened here with O_NOFOLLOW, a regular file only, so an
error is a reply, not a lost run), exactly the requested environment (API keys travel there,
never on argv), cwd, default signal dispositions, then `runner.cli.main(argv[1:])` and
`os._exit(code)`. The server exits when its socket closes (the daemon is gone); running
children are in their own sessions and keep running.
"""

from __future__ import annotations

import argparse
import errno
import os
import random
import selectors
import signal
import socket
import stat
import sys
import threading
import traceback
from typing import Any, NoReturn

import orjson

MAX_MESSAGE = 128 * 1024  # a request: argv + an environment; far below this
LOG_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def preload() -> None:
    """Import what any run needs, without creating state a child must not share (no threads,
    no sockets, no random keys)."""
    import httpx  # noqa: F401
    import openai  # noqa: F401
    import openai.resources.chat.completions  # noqa: F401  (openai loads these on first use)
    import openai.types.chat  # noqa: F401
    import solders.litesvm  # noqa: F401
    import yaml  # noqa: F401

    import runner.agents.deterministic  # noqa: F401
    import runner.benchmark  # noqa: F401
    import runner.cli  # noqa: F401
    import runner.llm.agent  # noqa: F401
    import runner.report  # noqa: F401
    import runner.run  # noqa: F401
    import runner.tools.registry  # noqa: F401


def open_log(path: str) -> int:
    """The run's log for appending: never through a symlink, only a regular file."""
    fd = os.open(path, LOG_FLAGS, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "run log is not a regular file", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _validate(req: Any) -> tuple[str, list[str], dict[str, str], str, str]:
    if not isinstance(req, dict):
        raise ValueError("request is not an object")
    rid, argv, env, cwd, log = req.get("id"), req.get("argv"), req.get("env"), req.get("cwd"), req.get("log")
    if not isinstance(rid, str):
        raise ValueError("id: not a string")
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) and "\0" not in a for a in argv)):
        raise ValueError("argv: not a non-empty list of strings")
    if not (isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) and k and "=" not in k
                                          and "\0" not in k + v for k, v in env.items())):
        raise ValueError("env: not an object of strings")
    if not isinstance(cwd, str) or not isinstance(log, str):
        raise ValueError("cwd/log: not strings")
    return rid, argv, env, cwd, log


def _child(argv: list[str], env: dict[str, str], cwd: str, log_fd: int, started_w: int) -> NoReturn:
    """In the forked child: become a fresh runner process, run the CLI, never return."""
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as any Python process starts
        signal.set_wakeup_fd(-1)
        with open("/proc/self/comm", "w") as comm:  # `ps -o comm`/top name it; its argv stays the server's
            comm.write("reev-runner")
        os.close(started_w)  # the server replies only now: the daemon may signal our group at once
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, 1 << 20)  # the daemon's socket and the wakeup pipe too (close_range(2) on Linux)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)  # putenv too: the C environment is the request's, nothing else
        random.seed()  # also done by random's at-fork hook; explicit because runs must not share a stream
        sys.argv = list(argv)
        from runner.cli import main

        try:
            code = main(argv[1:])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - anything else still ends this process, never the server's loop
        try:
            sys.stderr.write(f"reev-runner: fork server child failed: {exc!r}\n")
            traceback.print_exc()  # what a fresh process would print for an uncaught exception
        except Exception:  # noqa: BLE001
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code if isinstance(code, int) else 1)
    raise AssertionError("unreachable")


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: set[int] = set()

    def send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = orjson.dumps(message)
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.send(data)

    def handle(self, data: bytes) -> None:
        rid: Any = None
        try:
            req = orjson.loads(data)
            rid = req.get("id") if isinstance(req, dict) else None
            rid, argv, env, cwd, log = _validate(req)
            log_fd = open_log(log)
        except (ValueError, OSError) as exc:
            self.send({"id": rid if isinstance(rid, str) else None, "error": f"{type(exc).__name__}: {exc}"})
            return
        pid = -1
        started_r, started_w = os.pipe()
        try:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()  # nothing buffered here may be written twice by the child
            pid = os.fork()
            if pid == 0:
                os.close(started_r)
                _child(argv, env, cwd, log_fd, started_w)
        except OSError as exc:
            self.send({"id": rid, "error": f"fork failed: {exc}"})
            return
        finally:
            if pid != 0:
                os.close(log_fd)
                os.close(started_w)
                if pid > 0:
                    os.read(started_r, 1)  # EOF once the child has its own session (or died)
                os.close(started_r)
        self.children.add(pid)
        pidfd = os.pidfd_open(pid)  # not reaped before reap() runs, so this is our child
        try:
            self.send({"id": rid, "pid": pid}, [pidfd])
        finally:
            os.close(pidfd)

    def reap(self) -> None:
        while self.children:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            # Exited but not reaped: its pid (so its group id) cannot be reused yet, so whatever
            # it left running in its group can be killed safely (the daemon's Popen path does the same).
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            _, status = os.waitpid(pid, 0)
            self.children.discard(pid)
            self.send({"exit": pid, "returncode": os.waitstatus_to_exitcode(status)})

    def on_readable(self) -> bool:
        """False when the daemon closed its end."""
        data, _anc, flags, _addr = self.sock.recvmsg(MAX_MESSAGE)
        if not data:
            return False
        if flags & socket.MSG_TRUNC:
            self.send({"id": None, "error": f"request longer than {MAX_MESSAGE} bytes"})
            return True
        self.handle(data)
        return True


def serve(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    preload()
    if threading.active_count() != 1:  # fork() in a threaded process would copy held locks
        sys.stderr.write("reev-runner forkserver: a preloaded module started a thread; refusing to fork\n")
        return 1
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD writes the wakeup fd
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the daemon's business
    server = Server(sock)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "sock")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    try:
        server.send({"ready": True, "pid": os.getpid()})
        while True:
            for key, _ in selector.select():
                if key.data == "wake":
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    server.reap()
                elif not server.on_readable():
                    return 0
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the daemon is gone; children keep running in their own sessions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reev-runner-forkserver", description="Fork server for reev-runner processes (started by reevd).")
    parser.add_argument("--fd", type=int, required=True, help="the Unix socket inherited from the daemon")
    args = parser.parse_args(argv)
    return serve(args.fd)


if __name__ == "__main__":
    sys.exit(main())
