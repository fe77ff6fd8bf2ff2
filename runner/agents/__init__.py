"""Agents that turn a benchmark prompt into Solana instructions, by name.

Names and their settings live in runner.agents.catalog (pure, cheap to import); this module
builds the agent itself. An unknown or unconfigured name raises AgentConfigError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from runner.agents.base import Agent, AgentError, AgentInput, AgentOutput
from runner.agents.catalog import AgentConfigError, resolve_agent

UnknownAgentError = AgentConfigError  # the name earlier callers used


def get_agent(name: str, env: Mapping[str, str] | None = None) -> Agent:
    environ = os.environ if env is None else env
    config = resolve_agent(name, environ)
    if config is None:
        from runner.agents.deterministic import DeterministicAgent

        return DeterministicAgent()
    from runner.llm.agent import build_llm_agent  # lazy: imports the openai client

    return build_llm_agent(config, environ)


__all__ = ["Agent", "AgentConfigError", "AgentError", "AgentInput", "AgentOutput", "UnknownAgentError", "get_agent"]
