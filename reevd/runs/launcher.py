"""Who spawns the runner: the only module that starts or kills runner processes.

A run is launched and then only reacted to: the kernel reports its exit through a pidfd
(readable once the process is gone), timeouts are `call_later` timers, and the watcher
reports its session file. Nothing here sleeps or polls.

Why `subprocess.Popen` and not `asyncio.create_subprocess_exec`: asyncio's subprocess
transport kills a still-running child when the transport is closed (daemon shutdown),
and runs must outlive a daemon restart. Popen with an argv list (never a shell), in a new
session, plus a pidfd gives the same event-driven exit without that coupling, and is the
same mechanism used to re-attach to runs found alive after a restart (recovery.py).

Two pools: CPU-bound runs (the deterministic agent) take `max_concurrency` slots; LLM runs
mostly wait on the network and take `llm_max_concurrency` slots, and at most
`llm_max_per_provider` of them call one provider URL at once. A run sends one model request
at a time, so capping a provider's live runs caps its requests in flight, with no shared
semaphore across processes. Each pool is FIFO; a provider at its cap does not hold up the
others. An LLM run gets its agent's settings (saved ones merged over the daemon's
environment) in its environment, never on its argv.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections import OrderedDict, deque
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import orjson
import structlog

from reevd.agent_settings import AgentSettings, AgentUnavailable
from reevd.config import Config
from reevd.errors import RequestError
from reevd.ingest import Ingestor
from reevd.metrics import Metrics
from reevd.models import Status, utc_now_iso
from reevd.runs.forkserver_client import ForkServer, ForkServerUnavailable
from reevd.runs.jobs import Job, LiveRun
from reevd.runs.process import describe_exit, open_pidfd, pidfd_exited, signal_group, start_ticks
from reevd.runs.run_log import bound_log, log_tail, open_run_log
from reevd.store import Store
from reevd.store.writes import RunEnded, RunQueued, RunStarted, WriteOp
from runner.formats import BENCHMARK_SUFFIXES, is_safe_id, run_log_execution_id, run_log_file_name

log = structlog.get_logger("reevd.launcher")


class Launcher:
    def __init__(self, config: Config, store: Store, ingestor: Ingestor, metrics: Metrics, settings: AgentSettings) -> None:
        self._config = config
        self._store = store
        self._ingestor = ingestor
        self._metrics = metrics
        self.settings = settings
        self._queue: deque[Job] = deque()  # CPU-bound runs
        self._llm_queues: OrderedDict[str, deque[Job]] = OrderedDict()  # provider URL -> its runs, FIFO
        self._live: dict[str, LiveRun] = {}
        self._live_llm: dict[str, int] = {}  # provider URL -> live runs
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        # Runs of the default runner fork from a preloaded server (no per-run imports); see forkserver_client.py.
        self._forkserver = ForkServer(config.root, self.pump) if config.fork_server else None
        config.run_logs_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        """Start the fork server, if used; queued runs wait for it (or for its failure: then Popen)."""
        if self._forkserver is not None:
            self._forkserver.start()

    @property
    def in_flight(self) -> int:
        return len(self._live)

    @property
    def queued(self) -> int:
        return len(self._queue) + sum(len(q) for q in self._llm_queues.values())

    @property
    def llm_in_flight(self) -> int:
        return sum(self._live_llm.values())

    # --- validation ------------------------------------------------------------------------

    def resolve_benchmark(self, benchmark_id: str) -> Path:
        """benchmarks/<id>.yml (or .yaml), refusing anything that leaves the folder."""
        if not is_safe_id(benchmark_id):
            raise RequestError(400, "invalid_id", f"benchmark id: must be 1-128 letters, digits, '-' or '_' (got {benchmark_id[:80]!r})")
        folder = self._config.benchmarks_dir.resolve()
        for suffix in BENCHMARK_SUFFIXES:
            candidate = folder / f"{benchmark_id}{suffix}"
            try:
                if candidate.is_symlink() and folder not in candidate.resolve(strict=True).parents:
                    raise RequestError(400, "invalid_path", f"benchmark '{benchmark_id}': file links outside {folder}")
                if candidate.is_file():
                    return candidate
            except (OSError, RuntimeError) as exc:  # a dangling link or a loop (RuntimeError on 3.11)
                raise RequestError(400, "invalid_path", f"benchmark '{benchmark_id}': unusable file ({exc.__class__.__name__})") from None
        raise RequestError(404, "not_found", f"benchmark '{benchmark_id}' not found in {self._config.benchmarks_dir}")

    def check_agent(self, agent: str) -> None:
        """400 for an unknown agent, or a known one missing a setting (named in the message)."""
        try:
            self.settings.check(agent[:210])
        except AgentUnavailable as exc:
            raise RequestError(400, exc.code, exc.message) from None

    def check_timeout(self, timeout_s: float | None) -> float:
        if timeout_s is None:
            return self._config.default_timeout_s
        if not 0 < timeout_s <= self._config.max_timeout_s:
            raise RequestError(400, "invalid_request", f"timeout_s: must be > 0 and <= {self._config.max_timeout_s:g}")
        return float(timeout_s)

    def log_path(self, execution_id: str) -> Path:
        return self._config.run_logs_dir / run_log_file_name(execution_id)

    # --- submit / stop -----------------------------------------------------------------------

    def prepare(self, benchmark_id: str, agent: str, timeout_s: float | None = None,
                metadata: dict[str, object] | None = None, execution_id: str | None = None) -> tuple[RunQueued, Job]:
        """A validated run request: its row to write and its job to queue once written."""
        path = self.resolve_benchmark(benchmark_id)
        self.check_agent(agent)
        timeout = self.check_timeout(timeout_s)
        if execution_id is None:
            execution_id = str(uuid.uuid4())
        meta = orjson.dumps(metadata or {}).decode()
        return (RunQueued(execution_id, benchmark_id, agent, timeout, meta, utc_now_iso()),
                Job(execution_id, benchmark_id, agent, path, timeout))

    async def submit(self, benchmark_id: str, agent: str, timeout_s: float | None = None,
                     metadata: dict[str, object] | None = None, execution_id: str | None = None) -> tuple[str, Status]:
        op, job = self.prepare(benchmark_id, agent, timeout_s, metadata, execution_id)
        await self.submit_together(op, [job])
        return job.execution_id, (Status.RUNNING if job.execution_id in self._live else Status.QUEUED)

    async def submit_together(self, op: WriteOp, jobs: list[Job]) -> None:
        """Queue `jobs` once `op`, which writes all their rows in one transaction, is committed."""
        problem = self._store.problem()
        if problem is not None:  # accepting it now would leave the request hanging on the fault
            raise RequestError(503, "store_unavailable", f"cannot accept runs: {problem}")
        await self._store.writer.write(op)
        for job in jobs:
            self.enqueue(job)
        self.pump()

    def enqueue(self, job: Job) -> None:
        job.provider = self.settings.provider_of(job.agent)
        if job.provider is None:
            self._queue.append(job)
        else:
            self._llm_queues.setdefault(job.provider, deque()).append(job)

    async def stop(self, execution_id: str) -> bool:
        """Stop a queued or running run. False when this daemon has no such active run."""
        for queue in (self._queue, *self._llm_queues.values()):
            job = next((j for j in queue if j.execution_id == execution_id), None)
            if job is not None:
                queue.remove(job)
                await self._store.writer.write(RunEnded(execution_id, Status.STOPPED.value, "stopped by request before it started", None, utc_now_iso()))
                return True
        run = self._live.get(execution_id)
        if run is None:
            return False
        await self._terminate(run, Status.STOPPED, "stopped by request")
        return True

    # --- spawning --------------------------------------------------------------------------

    def pump(self) -> None:
        """Start queued runs while their pool (and, for LLM runs, their provider) has free slots.

        A CPU slot is a runner process: one whose exit the kernel reported frees its slot at
        once, while its session is still being committed (perf/limits_perf.py item 5: two commit
        round trips per run otherwise stood between one runner's exit and the next start).
        """
        if self._closing or (self._forkserver is not None and self._forkserver.starting):
            return  # the fork server's ready (or failed) event pumps again
        while self._queue and self._cpu_processes() < self._config.max_concurrency:
            self._start(self._queue.popleft())
        # LLM runs: round-robin over providers with work and a free slot, FIFO within each.
        while self.llm_in_flight < self._config.llm_max_concurrency:
            ready = [p for p, q in self._llm_queues.items()
                     if q and self._live_llm.get(p, 0) < self._config.llm_max_per_provider]
            if not ready:
                break
            for provider in ready:
                if self.llm_in_flight >= self._config.llm_max_concurrency:
                    break
                queue = self._llm_queues[provider]
                self._start(queue.popleft())
                if not queue:
                    del self._llm_queues[provider]

    def _start(self, job: Job) -> None:
        try:
            self._spawn(job)
        except OSError as exc:
            log.error("spawn_failed", execution_id=job.execution_id, error=repr(exc))
            self._record(RunEnded(job.execution_id, Status.FAILED.value, f"could not start the runner: {exc}", None, utc_now_iso()))

    def _cpu_processes(self) -> int:
        """Live runner processes of the CPU pool (LLM runs count against their own pool)."""
        return sum(1 for run in self._live.values() if not run.exited and run.job.provider is None)

    def _command(self, job: Job) -> list[str]:
        return [*self._config.runner_command, str(job.benchmark_path), f"--agent={job.agent}",
                f"--execution-id={job.execution_id}", f"--sessions-dir={self._config.sessions_dir}"]

    def _spawn(self, job: Job) -> None:
        log_path = self.log_path(job.execution_id)
        env = self.settings.env_for(job.agent)  # the agent's settings: environment, never argv
        if self._forkserver is not None:
            try:
                pid, pidfd = self._forkserver.spawn(self._command(job), env, self._config.root, log_path)
            except ForkServerUnavailable as exc:  # nothing started: a fresh process instead
                log.warning("forkserver_fallback", execution_id=job.execution_id, reason=str(exc))
            else:
                self._started(LiveRun(job, pid, None, pidfd, log_path))
                return
        log_fd = open_run_log(log_path)  # refuses a planted symlink (OSError: the run fails, named)
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                self._command(job),
                cwd=self._config.root,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own session and process group: survives the daemon, killable as a group
                close_fds=True,
                env=env,
            )
        finally:
            os.close(log_fd)
        proc_pidfd = open_pidfd(proc.pid)
        if proc_pidfd is None:  # pidfd_open needs Linux 5.3; without it we cannot learn exits without polling
            proc.kill()
            proc.wait()
            raise OSError("pidfd_open is not available on this kernel")
        self._started(LiveRun(job, proc.pid, proc, proc_pidfd, log_path))

    def _started(self, run: LiveRun) -> None:
        job = run.job
        self._add_live(run)
        self.arm(run, job.timeout_s)
        self._metrics.runs_started.inc()
        self._record(RunStarted(job.execution_id, run.pid, start_ticks(run.pid) or 0, utc_now_iso()))
        log.info("run_started", execution_id=job.execution_id, benchmark_id=job.benchmark_id, agent=job.agent, pid=run.pid,
                 forked=run.proc is None)

    def adopt(self, job: Job, pid: int, pidfd: int, remaining_s: float) -> None:
        """Watch a runner found alive after a restart as if we had spawned it."""
        job.provider = self.settings.provider_of(job.agent)
        run = LiveRun(job, pid, None, pidfd, self.log_path(job.execution_id))
        self._add_live(run)
        self.arm(run, remaining_s)

    def _add_live(self, run: LiveRun) -> None:
        self._live[run.job.execution_id] = run
        if run.job.provider is not None:
            self._live_llm[run.job.provider] = self._live_llm.get(run.job.provider, 0) + 1

    def _remove_live(self, execution_id: str) -> None:
        run = self._live.pop(execution_id, None)
        provider = run.job.provider if run is not None else None
        if provider is not None:
            left = self._live_llm.get(provider, 0) - 1
            if left > 0:
                self._live_llm[provider] = left
            else:
                self._live_llm.pop(provider, None)

    def arm(self, run: LiveRun, remaining_s: float) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(run.pidfd, self._on_pidfd_readable, run)
        run.deadline_timer = loop.call_later(max(remaining_s, 0.0), self._on_deadline, run)

    def _on_deadline(self, run: LiveRun) -> None:
        self._track(self._terminate(run, Status.TIMEOUT, f"timed out after {run.job.timeout_s:g} s"))

    async def _terminate(self, run: LiveRun, status: Status, message: str) -> None:
        if run.outcome is not None or run.exited:
            return
        run.outcome = status
        if run.deadline_timer is not None:
            run.deadline_timer.cancel()
        # Signal first (nothing may stop the kill), then record the verdict. The verdict only
        # applies to an active row, so a session that landed first still wins.
        self._signal(run, signal.SIGTERM)
        run.kill_timer = asyncio.get_running_loop().call_later(self._config.stop_grace_s, self._kill_if_alive, run)
        log.info("run_terminating", execution_id=run.job.execution_id, status=status.value)
        await self._store.writer.write(RunEnded(run.job.execution_id, status.value, message, None, utc_now_iso()))

    def _kill_if_alive(self, run: LiveRun) -> None:
        self._signal(run, signal.SIGKILL)

    def _signal(self, run: LiveRun, sig: signal.Signals) -> None:
        """Signal a run's group unless it has exited: after the exit the group id may belong to
        someone else. A run we did not spawn (forked by the fork server, or adopted) is reaped by
        another process, possibly before our pidfd callback ran: its pidfd tells us first."""
        if run.exited or (run.proc is None and pidfd_exited(run.pidfd)):
            return
        signal_group(run.pid, sig)

    # --- background work, always awaited by someone ---------------------------------------

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("launcher_task_failed", error=repr(task.exception()))

    def _record(self, op: WriteOp) -> None:
        """Queue a write from a synchronous callback; a failure is logged, never lost silently."""
        self._track(self._write_logged(op))

    async def _write_logged(self, op: WriteOp) -> None:
        try:
            await self._store.writer.write(op)
        except Exception as exc:
            log.error("run_record_failed", op=type(op).__name__, execution_id=op.execution_id, error=repr(exc))

    # --- exits -------------------------------------------------------------------------------

    def _on_pidfd_readable(self, run: LiveRun) -> None:
        self._release_pidfd(run)
        run.exited = True
        if run.proc is None and self._forkserver is not None and self._forkserver.owns(run.pid):
            self._track(self._on_forked_exit(run))  # its parent, the fork server, reports the code
            return
        returncode = run.proc.wait() if run.proc is not None else None  # already exited: reaps at once
        self._track(self._on_exit(run, returncode))
        self.pump()

    async def _on_forked_exit(self, run: LiveRun) -> None:
        assert self._forkserver is not None
        await self._on_exit(run, await self._forkserver.returncode(run.pid))

    def _release_pidfd(self, run: LiveRun) -> None:
        if run.pidfd >= 0:
            asyncio.get_running_loop().remove_reader(run.pidfd)
            os.close(run.pidfd)
            run.pidfd = -1

    async def _on_exit(self, run: LiveRun, returncode: int | None) -> None:
        execution_id = run.job.execution_id
        for timer in (run.deadline_timer, run.kill_timer):
            if timer is not None:
                timer.cancel()
        if run.outcome is not None and run.proc is not None:
            # Stragglers the runner left in its group. Only for our own child: its pid (the group
            # id) is not reusable until we reaped it just now, and its group outlives it.
            signal_group(run.pid, signal.SIGKILL)
        message: str | None = None
        try:
            if not await self._ingestor.ingest_session_now(execution_id):
                message = self._exit_message(run, returncode)
        except Exception as exc:
            message = f"{describe_exit(returncode)}; its session file could not be read: {exc!r}"
            log.error("run_exit_ingest_failed", execution_id=execution_id, error=repr(exc))
        try:
            # Applies only if the row is still active: the session file, when there is one, has won.
            await self._store.writer.write(RunEnded(execution_id, Status.FAILED.value, message, returncode, utc_now_iso()))
        except Exception as exc:  # the slot must be freed whatever happened
            log.error("run_exit_handling_failed", execution_id=execution_id, error=repr(exc))
        finally:
            bound_log(run.log_path, self._config.run_log_max_bytes)
            self._remove_live(execution_id)
            run.done.set()
            log.info("run_exited", execution_id=execution_id, returncode=returncode, outcome=run.outcome)
            self.pump()

    def _exit_message(self, run: LiveRun, returncode: int | None) -> str:
        tail = log_tail(run.log_path)
        reason = describe_exit(returncode)
        return f"{reason} without writing a session file" + (f"; last output: {tail}" if tail else "")

    def on_run_log_event(self, name: str, _finished: bool) -> None:
        """Watcher sink for logs/runs: trim a live run's log as soon as it passes the bound."""
        execution_id = run_log_execution_id(name)
        run = self._live.get(execution_id) if execution_id is not None else None
        if run is not None:
            bound_log(run.log_path, self._config.run_log_max_bytes)

    async def close(self) -> None:
        """Daemon shutdown: leave runs running (they outlive us), release our handles."""
        self._closing = True
        for run in self._live.values():
            for timer in (run.deadline_timer, run.kill_timer):
                if timer is not None:
                    timer.cancel()
            if run.outcome is not None and not run.exited:
                # Declared Stopped/Timeout: no restarted daemon would re-attach to it, so finish it now.
                self._signal(run, signal.SIGKILL)
            self._release_pidfd(run)
            if run.proc is not None:
                # Disown: the run deliberately outlives the daemon; without this Popen would warn
                # and queue it for reaping at interpreter exit.
                run.proc.returncode = -1
        self._live.clear()
        self._live_llm.clear()
        if self._forkserver is not None:
            await self._forkserver.close()  # it exits; the runs it forked keep running
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
