"""A session file -> the write that records the run's result (or that it failed to report)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from reevd.ingest.files import read_all
from reevd.ingest.parse import InvalidInput, parse_session
from reevd.models import utc_now_iso
from reevd.store.writes import FileState, SessionInvalid, SessionResult


@dataclass(frozen=True)
class SessionRead:
    """What reading a session file decided. `op` is None when there is nothing to write."""

    op: SessionResult | SessionInvalid | None = None
    wait_for_writer: bool = False  # half-written and its writer not known to be done: come back
    rejected: str | None = None  # a reason for the rejected-files counter
    detail: str | None = None
    session_id_mismatch: str | None = None


def unchanged(known: FileState | None, st: os.stat_result) -> bool:
    return known is not None and (known.dev, known.inode, known.size, known.mtime_ns) == (
        st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_session(name: str, execution_id: str, fd: int, st: os.stat_result, known: FileState | None,
                 finished: bool, max_bytes: int) -> SessionRead:
    """Read and judge one session file (blocking read of a bounded file; no writes here)."""
    if unchanged(known, st):
        return SessionRead()  # already ingested exactly this content
    file = FileState(name, "session", execution_id, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    now = utc_now_iso()
    if st.st_size > max_bytes:
        if not finished:
            return SessionRead(wait_for_writer=True)  # no close event says when it ends: the settle timer judges it
        message = f"session file too large: {st.st_size} bytes (limit {max_bytes})"
        return SessionRead(SessionInvalid(execution_id, message, now, file), rejected="too_large", detail=message)
    try:
        parsed = parse_session(read_all(fd, st.st_size))
    except InvalidInput as exc:
        if not finished:
            return SessionRead(wait_for_writer=True)  # its close or rename brings us back, or the settle timer
        message = f"invalid session file {name}: {exc}"
        return SessionRead(SessionInvalid(execution_id, message[:2000], now, file), rejected="invalid_session",
                           detail=str(exc))
    mismatch = parsed.session_id if parsed.session_id is not None and parsed.session_id != execution_id else None
    op = SessionResult(
        execution_id=execution_id,
        benchmark_id=parsed.benchmark_id,
        agent=parsed.agent,
        status=parsed.status.value,
        started_at=parsed.started_at,
        finished_at=parsed.finished_at or now,
        score=parsed.score,
        error_message=parsed.error_message,
        result_data=parsed.result_json,
        now=now,
        file=file,
    )
    return SessionRead(op, session_id_mismatch=mismatch)
