"""Every write the daemon makes about executions, as data. Only the writer thread executes them.

Each operation lists its statements as (sql, params); the writer applies a batch's
operations in submission order, in one transaction, running consecutive identical SQL as
one `executemany`. The status rules are monotonic (built from reevd/models.py): a terminal
state never regresses and a replayed or late event changes nothing (UPSERT ... WHERE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from reevd.models import TERMINAL_SQL, Origin, Status

Statement = tuple[str, tuple[Any, ...] | dict[str, Any]]

Q, R, F = Status.QUEUED.value, Status.RUNNING.value, Status.FAILED.value
API, DISK = Origin.API.value, Origin.DISK.value

# A row may still move when it is active, or when it is Failed only because its session
# file could not be parsed yet (a later valid file is the truth).
MAY_SETTLE = f"(executions.status NOT IN {TERMINAL_SQL} OR (executions.status = '{F}' AND executions.ingest_error IS NOT NULL))"


@dataclass(frozen=True)
class FileState:
    """Committed ingest position of one file in logs/sessions."""

    name: str
    kind: str
    execution_id: str
    dev: int
    inode: int
    size: int
    mtime_ns: int
    offset: int = 0
    lines: int = 0
    invalid: int = 0
    oversize: int = 0
    skipping: bool = False

    SQL: ClassVar[str] = """
        INSERT INTO files (name, kind, execution_id, dev, inode, size, mtime_ns, offset, lines, invalid, oversize, skipping)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
        ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, execution_id=excluded.execution_id,
            dev=excluded.dev, inode=excluded.inode, size=excluded.size, mtime_ns=excluded.mtime_ns,
            offset=excluded.offset, lines=excluded.lines, invalid=excluded.invalid,
            oversize=excluded.oversize, skipping=excluded.skipping"""

    def statement(self) -> Statement:
        return (
            self.SQL,
            (self.name, self.kind, self.execution_id, self.dev, self.inode, self.size, self.mtime_ns,
             self.offset, self.lines, self.invalid, self.oversize, int(self.skipping)),
        )


class WriteOp:
    """Base of all write operations."""

    execution_id: str

    @property
    def commutes_with_its_kind(self) -> bool:
        """True when, in a run of consecutive ops of this same class, each statement may be
        applied for all of them before the next (e.g. every `files` upsert, then every
        `executions` upsert): the op type vouches that its statements touch different rows
        or tables in an order-insensitive way. The writer then runs them as one executemany
        each, which makes a burst of 1,000 files cheap; ops of different kinds keep
        submission order."""
        return False

    @property
    def quick(self) -> bool:
        """A row or two of bounded size: an idle writer may commit it on the loop at once
        (store/writer.py), which a burst or a large chunk must never do."""
        return False

    @property
    def wal_bytes(self) -> int:
        """About what committing it adds to the WAL: paces the checkpoints (store/checkpointer.py)."""
        return 512

    def execution_ids(self) -> tuple[str, ...]:
        """Every run whose row this op changes (the status cache and the hub follow these)."""
        return (self.execution_id,) if self.execution_id else ()

    def statements(self) -> list[Statement]:
        raise NotImplementedError


QUICK_MAX_BYTES = 64 << 10  # a session's result_data above this commits on the writer thread


@dataclass(frozen=True)
class SessionResult(WriteOp):
    """A parsed session file: the run's final truth."""

    execution_id: str
    benchmark_id: str
    agent: str
    status: str
    started_at: str | None
    finished_at: str | None
    score: float | None
    error_message: str | None
    result_data: str
    now: str
    file: FileState

    SQL: ClassVar[str] = f"""
        INSERT INTO executions (execution_id, benchmark_id, agent, status, origin, created_at, updated_at,
            started_at, finished_at, progress, score, error_message, result_data)
        VALUES (?,?,?,?,'{DISK}',?,?,?,?,1.0,?,?,?)
        ON CONFLICT(execution_id) DO UPDATE SET
            benchmark_id = CASE WHEN executions.benchmark_id = '' THEN excluded.benchmark_id ELSE executions.benchmark_id END,
            agent = CASE WHEN executions.agent = '' THEN excluded.agent ELSE executions.agent END,
            status = excluded.status, updated_at = excluded.updated_at,
            started_at = COALESCE(executions.started_at, excluded.started_at),
            finished_at = excluded.finished_at, progress = 1.0, score = excluded.score,
            error_message = excluded.error_message, ingest_error = NULL, result_data = excluded.result_data
        WHERE {MAY_SETTLE}"""

    @property
    def commutes_with_its_kind(self) -> bool:
        return True  # a files upsert, then an executions upsert: tables apart, each keyed by its own name

    @property
    def quick(self) -> bool:
        return len(self.result_data) <= QUICK_MAX_BYTES

    @property
    def wal_bytes(self) -> int:
        return 512 + len(self.result_data)

    def statements(self) -> list[Statement]:
        return [
            self.file.statement(),
            (self.SQL, (
                self.execution_id, self.benchmark_id, self.agent, self.status, self.now, self.now,
                self.started_at, self.finished_at, self.score, self.error_message, self.result_data)),
        ]


@dataclass(frozen=True)
class SessionInvalid(WriteOp):
    """A session file its writer finished but that does not parse: the run failed to report."""

    execution_id: str
    message: str
    now: str
    file: FileState

    SQL: ClassVar[str] = f"""
        INSERT INTO executions (execution_id, status, origin, created_at, updated_at, error_message, ingest_error, progress)
        VALUES (?, '{F}', '{DISK}', ?, ?, ?, ?, 1.0)
        ON CONFLICT(execution_id) DO UPDATE SET status = '{F}', updated_at = excluded.updated_at,
            error_message = excluded.error_message, ingest_error = excluded.ingest_error,
            finished_at = COALESCE(executions.finished_at, excluded.updated_at)
        WHERE {MAY_SETTLE}"""

    @property
    def quick(self) -> bool:
        return True  # its message is cut to 2,000 characters

    def statements(self) -> list[Statement]:
        return [
            self.file.statement(),
            (self.SQL, (self.execution_id, self.now, self.now, self.message, self.message)),
        ]


# One OTEL event to store, as a plain tuple (a 1M-line file builds 1M of them):
# (offset, event_type, ts, tool_name, start, length), where its body is the `length` bytes of
# the chunk's data from `start` (counted from 1, as substr() does).
EventMeta = tuple[int, str, str | None, str | None, int, int]


@dataclass(frozen=True)
class OtelChunk(WriteOp):
    """Complete lines read from one OTEL file, with the offset just past them: one transaction."""

    execution_id: str
    file: FileState
    events: list[EventMeta] = field(default_factory=list)
    data: bytes = b""  # the bytes the events' bodies are cut from (the chunk as read)
    replaced: bool = False  # the file was truncated or replaced: its old events are gone
    progress: float | None = None
    benchmark_id: str = ""
    agent: str = ""
    now: str = ""
    events_json: str = ""  # `events` as SQLite reads them; made where the op is made (on the loop, not the writer)

    def __post_init__(self) -> None:
        if self.events and not self.events_json:
            object.__setattr__(self, "events_json", orjson.dumps(self.events).decode())

    # All of a chunk's events in one statement that runs in C without the GIL: SQLite walks a
    # small JSON array of [offset, event_type, ts, tool_name, start, length] per event and
    # cuts each body out of the chunk's bytes as read (substr on a BLOB counts bytes).
    # Profile (perf/profile_daemon.py otel, perf/limits_perf.py item 3): executemany needs the
    # GIL back after every row, and the loop, busy parsing the next chunk, only yields it at
    # the 5 ms switch interval, so writing and parsing took turns; an array of whole rows
    # (json_each over [..., body]) ran in parallel but made SQLite parse every body again.
    # Bodies are never decoded, copied per line or escaped: the parse validated their UTF-8.
    # Same rows, types (CAST to TEXT) and INSERT OR IGNORE semantics as one VALUES row per event.
    EVENTS_SQL: ClassVar[str] = (
        "INSERT OR IGNORE INTO events (execution_id, offset, event_type, ts, tool_name, body) "
        "SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, "
        "CAST(substr(?3, value ->> 4, value ->> 5) AS TEXT) FROM json_each(?2)"
    )
    DELETE_SQL: ClassVar[str] = "DELETE FROM events WHERE execution_id = ?"
    EXECUTION_SQL: ClassVar[str] = f"""
        INSERT INTO executions (execution_id, benchmark_id, agent, status, origin, created_at, updated_at,
            started_at, progress, events_count, last_event_type, last_event_at)
        VALUES (:id, :benchmark_id, :agent, '{R}', '{DISK}', :now, :now, :now, :progress, :count, :last_type, :last_at)
        ON CONFLICT(execution_id) DO UPDATE SET
            status = CASE WHEN executions.status = '{Q}' THEN '{R}' ELSE executions.status END,
            benchmark_id = CASE WHEN executions.benchmark_id = '' THEN excluded.benchmark_id ELSE executions.benchmark_id END,
            agent = CASE WHEN executions.agent = '' THEN excluded.agent ELSE executions.agent END,
            started_at = COALESCE(executions.started_at, excluded.started_at),
            updated_at = excluded.updated_at,
            events_count = excluded.events_count,  -- the file's committed line count: absolute, so replays are idempotent
            progress = CASE WHEN executions.status IN {TERMINAL_SQL} THEN executions.progress
                            ELSE MAX(COALESCE(executions.progress, 0), COALESCE(excluded.progress, 0)) END,
            last_event_type = COALESCE(excluded.last_event_type, executions.last_event_type),
            last_event_at = COALESCE(excluded.last_event_at, executions.last_event_at)"""

    @property
    def wal_bytes(self) -> int:
        return 512 + len(self.data) + len(self.events_json)

    @property
    def commutes_with_its_kind(self) -> bool:
        # Without a DELETE: a files upsert (last one wins either way), INSERT OR IGNORE of
        # distinct offsets, and an executions upsert whose counts are absolute (last one wins).
        return not self.replaced

    def statements(self) -> list[Statement]:
        out: list[Statement] = []
        if self.replaced:
            out.append((self.DELETE_SQL, (self.execution_id,)))
        out.append(self.file.statement())
        if self.events:
            out.append((self.EVENTS_SQL, (self.execution_id, self.events_json, self.data)))
        if self.events or self.replaced:
            last = self.events[-1] if self.events else None
            out.append((self.EXECUTION_SQL, {
                "id": self.execution_id, "benchmark_id": self.benchmark_id, "agent": self.agent, "now": self.now,
                "progress": self.progress, "count": self.file.lines,
                "last_type": last[1] if last else None, "last_at": last[2] if last else None,
            }))
        return out


@dataclass(frozen=True)
class RunQueued(WriteOp):
    """The launcher accepted a run."""

    execution_id: str
    benchmark_id: str
    agent: str
    timeout_s: float
    metadata: str
    now: str

    SQL: ClassVar[str] = f"""
        INSERT INTO executions (execution_id, benchmark_id, agent, status, origin, created_at, updated_at, progress, timeout_s, metadata)
        VALUES (?,?,?,'{Q}','{API}',?,?,0.0,?,?)
        ON CONFLICT(execution_id) DO NOTHING"""

    @property
    def quick(self) -> bool:
        return True

    def statements(self) -> list[Statement]:
        return [(self.SQL, (self.execution_id, self.benchmark_id, self.agent, self.now, self.now,
                                             self.timeout_s, self.metadata))]


@dataclass(frozen=True)
class RunStarted(WriteOp):
    """The runner process exists: Queued -> Running, with what re-attaching after a restart needs."""

    execution_id: str
    pid: int
    pid_start: int
    now: str

    SQL: ClassVar[str] = f"""
        UPDATE executions SET status = CASE WHEN status = '{Q}' THEN '{R}' ELSE status END,
            pid = ?, pid_start = ?, started_at = COALESCE(started_at, ?), updated_at = ?
        WHERE execution_id = ?"""

    @property
    def quick(self) -> bool:
        return True

    def statements(self) -> list[Statement]:
        return [(self.SQL, (self.pid, self.pid_start, self.now, self.now, self.execution_id))]


@dataclass(frozen=True)
class RunEnded(WriteOp):
    """The launcher's verdict (exit without a session file, timeout, stop, lost runner).

    It only applies to a row that is still active: a session file that arrived first wins.
    """

    execution_id: str
    status: str
    error_message: str | None
    exit_code: int | None
    now: str

    SQL: ClassVar[str] = f"""
        UPDATE executions SET status = ?, error_message = COALESCE(?, error_message), exit_code = ?,
            finished_at = ?, updated_at = ?,
            progress = CASE WHEN ? = '{F}' THEN 1.0 ELSE progress END
        WHERE execution_id = ? AND status NOT IN {TERMINAL_SQL}"""

    EXIT_SQL: ClassVar[str] = "UPDATE executions SET exit_code = ? WHERE execution_id = ? AND exit_code IS NULL"

    @property
    def quick(self) -> bool:
        return True

    def statements(self) -> list[Statement]:
        return [
            (self.SQL, (self.status, self.error_message, self.exit_code, self.now, self.now,
                                      self.status, self.execution_id)),
            (self.EXIT_SQL, (self.exit_code, self.execution_id)),
        ]
