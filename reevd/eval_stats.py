"""Per agent x benchmark statistics over runs: mean score, standard error, pass rate, tokens, cost.

Pure functions over execution rows (dicts with agent, benchmark_id, status, score, success,
prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms, requests), so the eval
report, the compare view and agent-performance compute them the same way.

- Only finished runs (Completed/Failed/Stopped/Timeout) count; a run without a score scored 0.
- stderr = sample standard deviation / sqrt(n); null below two runs.
- pass_rate = share of finished runs whose session said success.
- mean_latency_ms = the cell's total model-request latency / its number of requests (null
  for an agent that makes no requests, e.g. deterministic).
- cost_usd is null when no run in the cell had a price configured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

TERMINAL = frozenset({"Completed", "Failed", "Stopped", "Timeout"})


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def cell(agent: str, benchmark_id: str, rows: list[dict[str, Any]], planned: int | None = None) -> dict[str, Any]:
    finished = [r for r in rows if r["status"] in TERMINAL]
    scores = [_num(r["score"]) or 0.0 for r in finished]
    n = len(scores)
    mean = sum(scores) / n if n else None
    stderr = None
    if n >= 2 and mean is not None:
        var = sum((s - mean) ** 2 for s in scores) / (n - 1)
        stderr = math.sqrt(var) / math.sqrt(n)
    tokens = {k: int(sum(_num(r.get(k)) or 0 for r in finished)) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    costs = [c for c in (_num(r.get("cost_usd")) for r in finished) if c is not None]
    requests = sum(_num(r.get("requests")) or 0 for r in finished)
    latency = sum(_num(r.get("latency_ms")) or 0 for r in finished)
    return {
        "agent": agent,
        "benchmark_id": benchmark_id,
        "runs": planned if planned is not None else len(rows),
        "finished": n,
        "mean_score": round(mean, 6) if mean is not None else None,
        "stderr": round(stderr, 6) if stderr is not None else None,
        "pass_rate": round(sum(1 for r in finished if r.get("success") in (1, True)) / n, 6) if n else None,
        **tokens,
        "cost_usd": round(sum(costs), 8) if costs else None,
        "mean_latency_ms": round(latency / requests, 3) if requests else None,
        "execution_ids": [r["execution_id"] for r in rows],
    }


def cells(rows: Iterable[dict[str, Any]], planned: dict[tuple[str, str], int] | None = None) -> list[dict[str, Any]]:
    """One cell per (agent, benchmark), sorted; `planned` adds cells with no row yet."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in (planned or {})}
    for r in rows:
        groups.setdefault((r["agent"], r["benchmark_id"]), []).append(r)
    return [cell(a, b, groups[(a, b)], (planned or {}).get((a, b))) for a, b in sorted(groups)]
