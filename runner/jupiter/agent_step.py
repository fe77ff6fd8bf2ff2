"""The deterministic agent's Jupiter step: prompt phrases -> Jupiter tool calls -> instructions.

Each call is reported through on_tool (ToolInput/ToolOutput lines); a tool error ends the step
with an AgentError carrying the tool's message.
"""

from __future__ import annotations

from typing import Any

from runner.actions import RawInstruction
from runner.agents.base import AgentError, AgentInput, AgentOutput
from runner.jupiter.intents import IntentError, is_jupiter_prompt, tool_calls
from runner.jupiter.tools import ToolContext, ToolError, tool_by_name

__all__ = ["is_jupiter_prompt", "run_jupiter_prompt"]


def run_jupiter_prompt(inp: AgentInput) -> AgentOutput:
    """Jupiter prompts: call the Jupiter tools in prompt order; a tool error ends the step."""
    try:
        calls = tool_calls(inp.prompt, inp.key_map, inp.account_states)
    except IntentError as exc:
        raise AgentError(str(exc)) from None
    if not calls:
        raise AgentError("the deterministic agent found no Jupiter action it understands in the prompt")
    ctx = ToolContext(inp.key_map, inp.account_states, inp.services)
    instructions: list[RawInstruction] = []
    tables: list[str] = []
    api_result: Any = None
    for name, args in calls:
        try:
            out = tool_by_name(name)(ctx, args)
        except ToolError as exc:
            if inp.on_tool is not None:
                inp.on_tool(name, args, {"success": False, "results": None, "error_message": f"Tool failed: {exc}"})
            raise AgentError(f"{name}: {exc}") from None
        if inp.on_tool is not None:
            inp.on_tool(name, args, {"success": True, "results": out, "error_message": None})
        instructions += [RawInstruction.from_dict(d) for d in out.get("instructions", [])]
        tables += [t for t in out.get("address_lookup_tables", []) if t not in tables]
        if "result" in out:
            api_result = out
    return AgentOutput(instructions, lookup_tables=tuple(tables), api_result=api_result)
