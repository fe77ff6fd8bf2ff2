"""The tools the LLM harness offers, in offer order.

To add a tool (e.g. issue 13's Jupiter tools in runner/jupiter/), append its `Tool` to
TOOLS; nothing else changes: the harness offers it (when `available`), dispatches by name
and logs it like the others.
"""

from __future__ import annotations

from runner.tools.accounts import CREATE_ATA, GET_ACCOUNT_BALANCE, MEMO
from runner.tools.base import Tool, ToolContext
from runner.tools.transfers import SOL_TRANSFER, SPL_TRANSFER

TOOLS: tuple[Tool, ...] = (SOL_TRANSFER, SPL_TRANSFER, CREATE_ATA, MEMO, GET_ACCOUNT_BALANCE)


def tool_names() -> tuple[str, ...]:
    return tuple(t.name for t in TOOLS)


def offered_tools(ctx: ToolContext) -> tuple[Tool, ...]:
    return tuple(t for t in TOOLS if t.available(ctx))
