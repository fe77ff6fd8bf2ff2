"""Recovery after a restart: rebuild run state from the database, the files and the kernel.

For each run this daemon's API accepted and that is still active: re-attach to its runner
if it is alive (pid *and* start time checked, then a pidfd), take its session file if it
finished, start it again if it never started, or fail it when it is lost. A run whose pid
was never recorded (the daemon died during the spawn) is never judged by a guess: its
session file, else its runner found by execution id, else it is started again (still owed).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import structlog

from reevd.config import Config
from reevd.errors import RequestError
from reevd.ingest import Ingestor
from reevd.models import Origin, Status, epoch_from_iso, utc_now_iso
from reevd.runs.jobs import Job
from reevd.runs.launcher import Launcher
from reevd.runs.process import find_runner, is_same_process, open_pidfd
from reevd.store import Store
from reevd.store.writes import RunEnded, RunStarted
from runner.formats import otel_file_name, run_log_file_name, session_file_name

log = structlog.get_logger("reevd.launcher")


async def recover(launcher: Launcher, config: Config, store: Store, ingestor: Ingestor) -> None:
    for row in await store.reader.active_executions():
        if row["origin"] != Origin.API.value:
            continue  # found on disk: not ours to judge
        try:
            await _recover_one(launcher, config, store, ingestor, row)
        except Exception as exc:  # one bad row must not stop the daemon from starting
            log.error("run_recovery_failed", execution_id=row["execution_id"], error=repr(exc))
            await store.writer.write(RunEnded(row["execution_id"], Status.FAILED.value,
                                              f"could not recover after a daemon restart: {exc!r}", None, utc_now_iso()))
    launcher.pump()


def _left_traces(config: Config, execution_id: str) -> bool:
    """Did a runner start for this id? Its log is created just before the spawn."""
    names = (config.run_logs_dir / run_log_file_name(execution_id),
             config.sessions_dir / session_file_name(execution_id),
             config.sessions_dir / otel_file_name(execution_id))
    return any(os.path.lexists(p) for p in names)


async def _requeue(launcher: Launcher, store: Store, row: dict[str, Any], timeout_s: float, failure: str,
                   **why: str) -> None:
    """Queue a run that is still owed, or fail it when its benchmark cannot be run any more."""
    execution_id = row["execution_id"]
    try:
        path = launcher.resolve_benchmark(row["benchmark_id"])
    except RequestError as exc:
        await store.writer.write(RunEnded(execution_id, Status.FAILED.value, f"{failure}: {exc.message}", None, utc_now_iso()))
        return
    launcher.enqueue(Job(execution_id, row["benchmark_id"], row["agent"], path, timeout_s))
    log.info("run_requeued", execution_id=execution_id, **why)


async def _recover_one(launcher: Launcher, config: Config, store: Store, ingestor: Ingestor, row: dict[str, Any]) -> None:
    execution_id = row["execution_id"]
    pid = row["pid"]
    timeout_s = row["timeout_s"] or config.default_timeout_s
    if pid is None and not _left_traces(config, execution_id):
        # Never started: the request is still owed, so run it now (FIFO by creation time).
        await _requeue(launcher, store, row, timeout_s, "could not restart queued run")
        return
    if pid is None:
        # The daemon died between creating the run's log and recording its pid.
        if await ingestor.ingest_session_now(execution_id):
            await store.writer.write(RunEnded(execution_id, Status.FAILED.value, None, None, utc_now_iso()))
            log.info("run_recovered_from_session", execution_id=execution_id)
            return  # the session file's result stands (RunEnded applies only to a row still active)
        found = find_runner(execution_id, launcher.log_path(execution_id))
        if found is not None:
            pid, ticks = found
            await store.writer.write(RunStarted(execution_id, pid, ticks, utc_now_iso()))
            row = {**row, "pid": pid, "pid_start": ticks}
        else:
            await _requeue(launcher, store, row, timeout_s, "could not restart run",
                           reason="spawned but no runner and no session found")
            return
    pidfd = open_pidfd(pid)
    if pidfd is not None and is_same_process(pid, row["pid_start"]):  # checked after opening: no reuse race
        job = Job(execution_id, row["benchmark_id"], row["agent"], Path(), timeout_s)
        elapsed = time.time() - epoch_from_iso(row["started_at"]) if row["started_at"] else 0.0
        launcher.adopt(job, pid, pidfd, timeout_s - elapsed)
        log.info("run_reattached", execution_id=execution_id, pid=pid)
        return
    if pidfd is not None:
        os.close(pidfd)
    ingested = await ingestor.ingest_session_now(execution_id)
    message = None if ingested else "runner lost while the daemon was down (no session file)"
    await store.writer.write(RunEnded(execution_id, Status.FAILED.value, message, None, utc_now_iso()))
    log.info("run_recovered_dead", execution_id=execution_id, session_found=ingested)
