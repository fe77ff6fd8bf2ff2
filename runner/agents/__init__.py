"""Agents that turn a benchmark prompt into Solana instructions, by name."""

from __future__ import annotations

from collections.abc import Callable

from runner.agents.base import Agent, AgentError, AgentInput, AgentOutput


def _deterministic() -> Agent:
    from runner.agents.deterministic import DeterministicAgent

    return DeterministicAgent()


# name -> factory; factories import lazily so listing names stays cheap.
KNOWN_AGENTS: dict[str, Callable[[], Agent]] = {"deterministic": _deterministic}


class UnknownAgentError(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown agent {name!r}; known agents: {', '.join(sorted(KNOWN_AGENTS))}")


def get_agent(name: str) -> Agent:
    factory = KNOWN_AGENTS.get(name)
    if factory is None:
        raise UnknownAgentError(name)
    return factory()


__all__ = ["KNOWN_AGENTS", "Agent", "AgentError", "AgentInput", "AgentOutput", "UnknownAgentError", "get_agent"]
