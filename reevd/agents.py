"""Which agents this install can really run: asked of the runner's own registry."""

from __future__ import annotations


def available_agents() -> tuple[str, ...]:
    try:
        from runner.agents import KNOWN_AGENTS  # import-light: no VM is loaded
    except ImportError:
        return ("deterministic",)
    return tuple(sorted(KNOWN_AGENTS))
