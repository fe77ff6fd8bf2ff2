"""The agent interface: prompt + key_map + account_states in, instructions out.

An LLM agent (a later issue) implements the same protocol; it may report each of its own
tool calls through `AgentInput.on_tool`, which the runner turns into OTEL lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runner.actions import RawInstruction

# (tool_name, tool_args, tool_output) -> None
ToolCallback = Callable[[str, Mapping[str, Any], Mapping[str, Any]], None]


@dataclass(frozen=True)
class AgentInput:
    prompt: str
    key_map: Mapping[str, str]  # placeholder -> base58 address
    account_states: Mapping[str, Mapping[str, Any]]  # placeholder -> {lamports, owner, ...}
    step: int = 1  # 1-based; >1 only for flow benchmarks
    on_tool: ToolCallback | None = None


@dataclass(frozen=True)
class AgentOutput:
    instructions: list[RawInstruction]
    thought: str | None = None  # stored as the step's "thought" in the session
    info: Mapping[str, Any] | None = None  # stored as the step's "info" (e.g. an LLM's stop reason)


class AgentError(Exception):
    """The agent could not produce instructions (the run still ends with a session file)."""


class Agent(Protocol):
    name: str  # session "agent_type"
    version: str  # OTEL "reev_agent_version"
    tool_names: tuple[str, ...]  # OTEL Prompt "tool_name_list"

    def run(self, inp: AgentInput) -> AgentOutput: ...
