"""Schema migrations, applied in order and recorded in PRAGMA user_version.

Append a migration to add a table or column; never edit a released one, so a newer reevd
opens an older database and brings it forward.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the one table of truth for executions, their OTEL events, and per-file ingest state.
    """
    CREATE TABLE executions (
        execution_id    TEXT PRIMARY KEY,
        benchmark_id    TEXT NOT NULL DEFAULT '',
        agent           TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL,
        origin          TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        started_at      TEXT,
        finished_at     TEXT,
        progress        REAL,
        score           REAL,
        error_message   TEXT,
        ingest_error    TEXT,
        result_data     TEXT,
        metadata        TEXT NOT NULL DEFAULT '{}',
        pid             INTEGER,
        pid_start       INTEGER,
        exit_code       INTEGER,
        timeout_s       REAL,
        events_count    INTEGER NOT NULL DEFAULT 0,
        last_event_type TEXT,
        last_event_at   TEXT
    );
    CREATE INDEX executions_by_created ON executions(created_at DESC, execution_id DESC);
    CREATE INDEX executions_by_benchmark ON executions(benchmark_id, created_at DESC);
    CREATE INDEX executions_by_status ON executions(status);

    CREATE TABLE events (
        execution_id TEXT NOT NULL,
        offset       INTEGER NOT NULL,
        event_type   TEXT NOT NULL,
        ts           TEXT,
        tool_name    TEXT,
        body         TEXT NOT NULL,
        PRIMARY KEY (execution_id, offset)
    ) WITHOUT ROWID;

    CREATE TABLE files (
        name         TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        dev          INTEGER NOT NULL,
        inode        INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        mtime_ns     INTEGER NOT NULL,
        offset       INTEGER NOT NULL DEFAULT 0,
        lines        INTEGER NOT NULL DEFAULT 0,
        invalid      INTEGER NOT NULL DEFAULT 0,
        oversize     INTEGER NOT NULL DEFAULT 0,
        skipping     INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: the benchmark catalog (kept in step with benchmarks/, keyed by the YAML id, so the
    # list can never show duplicates: upstream keyed by md5(name:prompt) and stale rows did)
    # and agent settings (upstream kept them in memory only).
    """
    CREATE TABLE benchmarks (
        benchmark_id TEXT PRIMARY KEY,
        file_name    TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        tags         TEXT NOT NULL DEFAULT '[]',
        prompt       TEXT NOT NULL DEFAULT '',
        runnable     INTEGER NOT NULL,
        reason       TEXT,
        steps        INTEGER NOT NULL DEFAULT 1,
        content_hash TEXT NOT NULL,
        synced_at    TEXT NOT NULL
    );

    CREATE TABLE agent_configs (
        agent_type TEXT PRIMARY KEY,
        settings   TEXT NOT NULL DEFAULT '{}',
        api_key    TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 3: evaluations (agents x benchmarks x epochs; their runs are executions whose metadata
    # names the eval) and the model requests of LLM runs (llm_<id>.jsonl, one row per line).
    """
    CREATE TABLE evals (
        eval_id    TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        agents     TEXT NOT NULL,
        benchmarks TEXT NOT NULL,
        epochs     INTEGER NOT NULL,
        runs       INTEGER NOT NULL
    );
    CREATE INDEX evals_by_created ON evals(created_at DESC, eval_id DESC);
    CREATE INDEX executions_by_eval ON executions(json_extract(metadata, '$.eval_id'))
        WHERE json_extract(metadata, '$.eval_id') IS NOT NULL;

    CREATE TABLE llm_calls (
        execution_id TEXT NOT NULL,
        offset       INTEGER NOT NULL,
        body         TEXT NOT NULL,
        PRIMARY KEY (execution_id, offset)
    ) WITHOUT ROWID;
    """,
]
