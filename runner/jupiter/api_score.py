"""Scoring an API-only step (upstream 114) on the tool's answer, by the benchmark's response_validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.benchmark import ResponseCheck

_TYPES: dict[str, tuple[type, ...]] = {"number": (int, float), "array": (list,), "object": (dict,), "string": (str,)}


def check_answer(checks: Sequence[ResponseCheck], answer: Any) -> tuple[float, list[dict[str, Any]]]:
    """(weighted fraction of checks that hold, one {field, type, passed, actual_type} per check)."""
    details = []
    total = earned = 0.0
    for c in checks:
        value = _lookup(answer, c.field)
        ok = isinstance(value, _TYPES[c.type]) and not isinstance(value, bool)
        if ok and c.min_value is not None and isinstance(value, int | float):
            ok = value >= c.min_value
        total += c.weight
        earned += c.weight if ok else 0.0
        details.append({"field": c.field, "type": c.type, "passed": ok, "actual_type": type(value).__name__})
    return (earned / total if total else 1.0), details


def _lookup(answer: Any, dotted: str) -> Any:
    value = answer
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
