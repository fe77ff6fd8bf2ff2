"""Evaluations (a matrix of agents x benchmarks x epochs) and the per-run LLM figures.

Schema migration 3 adds the evals table; the runs of an eval are ordinary
executions whose metadata carries {"eval_id": ...} (indexed). A run's tokens, cost and
latency are read out of its stored session result (result_data.llm, from the session
file's model/provider_url/usage/cost_usd).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from reevd.store.reader import LLM_USAGE_COLUMNS, Reader
from reevd.store.writes import RunQueued, Statement, WriteOp


# A run's figures, picked out of its JSON in SQL (no parse in Python on the list paths).
RUN_COLUMNS = f"""
    execution_id, agent, benchmark_id, status, score, created_at,
    json_extract(result_data, '$.success') AS success, {LLM_USAGE_COLUMNS}"""


@dataclass(frozen=True)
class EvalCreated(WriteOp):
    eval_id: str
    created_at: str
    agents: str  # JSON array text
    benchmarks: str  # JSON array text
    epochs: int
    runs: int
    execution_id: str = field(default="", init=False)

    SQL: ClassVar[str] = """
        INSERT INTO evals (eval_id, created_at, agents, benchmarks, epochs, runs) VALUES (?,?,?,?,?,?)
        ON CONFLICT(eval_id) DO NOTHING"""

    def statements(self) -> list[Statement]:
        return [(self.SQL, (self.eval_id, self.created_at, self.agents, self.benchmarks, self.epochs, self.runs))]


@dataclass(frozen=True)
class EvalQueued(WriteOp):
    """An eval and all of its runs in one transaction: a kill -9 leaves all of it or none,
    never an eval that promises runs nobody owes."""

    created: EvalCreated
    runs: tuple[RunQueued, ...]
    execution_id: str = field(default="", init=False)

    def execution_ids(self) -> tuple[str, ...]:
        return tuple(run.execution_id for run in self.runs)

    def statements(self) -> list[Statement]:
        return [*self.created.statements(), *(s for run in self.runs for s in run.statements())]


async def eval_row(reader: Reader, eval_id: str) -> dict[str, Any] | None:
    rows = await reader.all("SELECT * FROM evals WHERE eval_id = ?", (eval_id,))
    return rows[0] if rows else None


async def eval_rows(reader: Reader, limit: int = 200) -> list[dict[str, Any]]:
    return await reader.all("SELECT * FROM evals ORDER BY created_at DESC, eval_id DESC LIMIT ?", (limit,))


async def eval_runs(reader: Reader, eval_id: str) -> list[dict[str, Any]]:
    return await reader.all(
        f"SELECT {RUN_COLUMNS} FROM executions WHERE json_extract(metadata, '$.eval_id') = ? "
        "ORDER BY created_at, execution_id",
        (eval_id,),
    )


async def eval_progress(reader: Reader, eval_ids: list[str]) -> dict[str, int]:
    """eval_id -> finished runs."""
    if not eval_ids:
        return {}
    marks = ",".join("?" * len(eval_ids))
    rows = await reader.all(
        f"""SELECT json_extract(metadata, '$.eval_id') AS eval_id, COUNT(*) AS finished FROM executions
            WHERE json_extract(metadata, '$.eval_id') IN ({marks})
              AND status IN ('Completed','Failed','Stopped','Timeout')
            GROUP BY 1""",
        tuple(eval_ids),
    )
    return {r["eval_id"]: r["finished"] for r in rows}


async def finished_runs(reader: Reader, agents: list[str] | None, benchmarks: list[str] | None) -> list[dict[str, Any]]:
    where = ["status IN ('Completed','Failed','Stopped','Timeout')", "agent != ''"]
    args: list[Any] = []
    for column, values in (("agent", agents), ("benchmark_id", benchmarks)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    return await reader.all(
        f"SELECT {RUN_COLUMNS} FROM executions WHERE {' AND '.join(where)} ORDER BY created_at, execution_id", tuple(args)
    )


async def eval_id_of(reader: Reader, execution_id: str) -> str | None:
    rows = await reader.all("SELECT json_extract(metadata, '$.eval_id') AS eval_id FROM executions WHERE execution_id = ?", (execution_id,))
    value = rows[0]["eval_id"] if rows else None
    return value if isinstance(value, str) else None
