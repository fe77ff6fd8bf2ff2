"""Agent performance (GET /agent-performance): per-agent summaries of judged executions. Pure."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from reevd.models import outcome_label

TOP_N = 3


def color_class(score: float) -> str:
    # Upstream's thresholds (reev-db get_color_class): green at 1.0, yellow from 0.25.
    return "green" if score >= 1.0 else "yellow" if score >= 0.25 else "red"


def _result(row: dict[str, Any]) -> dict[str, Any]:
    ms = row["execution_time_ms"]
    # A run that ended without a score (the runner crashed or timed out) scored nothing.
    score = float(row["score"]) if row["score"] is not None else 0.0
    return {
        "id": row["execution_id"],
        "session_id": row["execution_id"],
        "benchmark_id": row["benchmark_id"],
        "agent_type": row["agent"],
        "score": score,
        "final_status": outcome_label(row["status"]),  # the row's status is the verdict (models.verdict)
        "timestamp": row["finished_at"] or row["updated_at"],
        "execution_time_ms": ms if isinstance(ms, int) and not isinstance(ms, bool) else None,
        "color_class": color_class(score),
    }


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """rows: finished executions oldest first. One summary per agent, sorted by agent."""
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_agent[row["agent"]].append(_result(row))
    out = []
    for agent in sorted(by_agent):
        results = by_agent[agent]
        latest: dict[str, float] = {}
        for r in results:  # oldest first, so the latest run of each benchmark wins
            latest[r["benchmark_id"]] = r["score"]
        ranked = sorted(latest.items(), key=lambda kv: (-kv[1], kv[0]))
        k = min(TOP_N, max(1, len(ranked) // 2))
        best = [bid for bid, _ in ranked[:k]]
        rest = ranked[k:] or ranked  # a single benchmark is both the best and the worst
        worst = [bid for bid, _ in sorted(rest, key=lambda kv: (kv[1], kv[0]))[:k]]
        succeeded = sum(1 for r in results if r["final_status"] == "Succeeded")
        out.append({
            "agent_type": agent,
            "total_benchmarks": len(results),
            "distinct_benchmarks": len(latest),
            "average_score": round(sum(r["score"] for r in results) / len(results), 6),
            "success_rate": round(succeeded / len(results), 6),
            "best_benchmarks": best,
            "worst_benchmarks": worst,
            "results": list(reversed(results)),  # newest first
        })
    return out
