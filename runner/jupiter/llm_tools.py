"""The Jupiter tools in the LLM harness's tool shape (runner/tools), registered in its registry:

    TOOLS = (..., *jupiter_llm_tools())

runner.tools is imported by name at call time (it imports the agents, which import us lazily).
Each wrapped tool is offered only when the harness's ToolContext carries the run's services
with a Jupiter client (`ctx.services["jupiter"]`, fork mode); the harness passes
`AgentInput.services` into its ToolContext and collects `output["address_lookup_tables"]`
into `AgentOutput.lookup_tables` so the step is compiled as a v0 transaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from runner.actions import RawInstruction
from runner.jupiter.tools import JUPITER_TOOLS, Tool, ToolContext, ToolError


def _services(ctx: Any) -> Mapping[str, Any]:
    services = getattr(ctx, "services", None)
    return services if isinstance(services, Mapping) else {}


def _wrap(base: Any, tool: Tool) -> Any:
    def handler(ctx: Any, args: Mapping[str, Any]) -> Any:
        try:
            out = tool(ToolContext(ctx.key_map, ctx.account_states, _services(ctx)), args)
        except ToolError as exc:
            raise base.ToolError(str(exc)) from None
        return base.ToolResult(out, tuple(RawInstruction.from_dict(d) for d in out.get("instructions", [])))

    return base.Tool(tool.name, tool.description, tool.parameters, handler,
                     available=lambda ctx: "jupiter" in _services(ctx))


def jupiter_llm_tools() -> tuple[Any, ...]:
    """JUPITER_TOOLS as runner.tools.base.Tool objects."""
    base = importlib.import_module("runner.tools.base")
    return tuple(_wrap(base, t) for t in JUPITER_TOOLS)
