"""Which agents this install knows: asked of the runner's own catalog (pure, no VM, no client)."""

from __future__ import annotations

import os

from runner.agents.catalog import describe_agents


def available_agents() -> tuple[str, ...]:
    return tuple(info.name for info in describe_agents(os.environ))


def runnable_agents() -> tuple[str, ...]:
    return tuple(info.name for info in describe_agents(os.environ) if info.runnable)
