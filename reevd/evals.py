"""Start an evaluation: every agent x benchmark x epoch as an ordinary queued run.

The runs carry {"eval_id", "epoch"} in their metadata; the launcher queues them under its
concurrency limits like any other run, so an eval is only bookkeeping plus a report.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from reevd.errors import RequestError
from reevd.models import utc_now_iso
from reevd.store.benchmarks import benchmarks as benchmark_rows
from reevd.store.evals import EvalCreated, EvalQueued
from reevd.store.writes import RunQueued, WriteOp

if TYPE_CHECKING:
    from reevd.store import Store

MAX_AGENTS = 32
MAX_EPOCHS = 100
MAX_RUNS = 5000


class RunSubmitter(Protocol):
    def check_agent(self, agent: str) -> None: ...

    def resolve_benchmark(self, benchmark_id: str) -> Any: ...

    def prepare(self, benchmark_id: str, agent: str, timeout_s: float | None = None,
                metadata: dict[str, object] | None = None, execution_id: str | None = None) -> tuple[RunQueued, Any]: ...

    async def submit_together(self, op: WriteOp, jobs: list[Any]) -> None: ...


def _bad(field: str, message: str) -> RequestError:
    return RequestError(400, "invalid_request", f"{field}: {message}")


def parse_request(body: dict[str, Any]) -> tuple[list[str], list[str] | None, int]:
    """(agents, benchmark ids or None for all, epochs), or a 400 naming the field."""
    agents = body.get("agents")
    if not isinstance(agents, list) or not agents or not all(isinstance(a, str) and a for a in agents):
        raise _bad("agents", "expected a non-empty list of agent names")
    if len(set(agents)) != len(agents) or len(agents) > MAX_AGENTS:
        raise _bad("agents", f"names must be distinct, at most {MAX_AGENTS}")
    benchmarks = body.get("benchmarks", "all")
    if benchmarks != "all" and (
        not isinstance(benchmarks, list) or not benchmarks or not all(isinstance(b, str) and b for b in benchmarks)
        or len(set(benchmarks)) != len(benchmarks)
    ):
        raise _bad("benchmarks", 'expected "all" or a non-empty list of distinct benchmark ids')
    epochs = body.get("epochs", 1)
    if isinstance(epochs, float) and epochs.is_integer():
        epochs = int(epochs)  # JSON has one number type: 2.0 is 2
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise _bad("epochs", f"expected a whole number from 1 to {MAX_EPOCHS}")
    return list(agents), (None if benchmarks == "all" else list(benchmarks)), epochs


async def start_eval(store: Store, launcher: RunSubmitter, body: dict[str, Any]) -> dict[str, Any]:
    agents, wanted, epochs = parse_request(body)
    for agent in agents:
        launcher.check_agent(agent)  # raises the launcher's 400 (unknown or unconfigured agent)
    if wanted is None:
        rows = await benchmark_rows(store.reader)
        benchmarks = [r["benchmark_id"] for r in rows if r["runnable"]]
        if not benchmarks:
            raise _bad("benchmarks", "the catalog has no runnable benchmark")
    else:
        benchmarks = wanted
        for benchmark_id in benchmarks:
            launcher.resolve_benchmark(benchmark_id)  # 400/404 naming the benchmark
    runs = len(agents) * len(benchmarks) * epochs
    if runs > MAX_RUNS:
        raise _bad("epochs", f"{runs} runs is more than {MAX_RUNS}")
    eval_id = str(uuid.uuid4())
    now = utc_now_iso()
    created = EvalCreated(eval_id, now, orjson.dumps(agents).decode(), orjson.dumps(benchmarks).decode(), epochs, runs)
    queued: list[RunQueued] = []
    jobs: list[Any] = []
    # Epoch-major, so a partly finished eval already covers every cell.
    for epoch in range(1, epochs + 1):
        for benchmark_id in benchmarks:
            for agent in agents:
                run, job = launcher.prepare(benchmark_id, agent, None, {"eval_id": eval_id, "epoch": epoch})
                queued.append(run)
                jobs.append(job)
    # One transaction for the eval and its runs (a restart finds them all owed, or no eval).
    await launcher.submit_together(EvalQueued(created, tuple(queued)), jobs)
    return {"eval_id": eval_id, "execution_ids": [run.execution_id for run in queued], "runs": runs}


def eval_view(row: dict[str, Any], finished: int) -> dict[str, Any]:
    return {
        "eval_id": row["eval_id"],
        "created_at": row["created_at"],
        "agents": orjson.loads(row["agents"]),
        "benchmarks": orjson.loads(row["benchmarks"]),
        "epochs": row["epochs"],
        "runs": row["runs"],
        "finished": finished,
        "status": "completed" if finished >= row["runs"] else "running",
    }
