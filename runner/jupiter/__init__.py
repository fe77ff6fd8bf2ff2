"""Jupiter tools: swap and lend/earn instructions built through Jupiter's HTTP API.

- client.py: the API client (quote, swap-instructions, lend earn *-instructions, positions,
  earnings) over a state source, so fork mode records the answers and a snapshot replays them.
- instructions.py: Jupiter's instruction JSON -> our RawInstruction (base64 -> base58 data).
- tools.py: tools as {name, description, JSON-schema parameters, handler(ctx, args)}, with
  upstream reev's names and parameters, ready to register as LLM tools (`JUPITER_TOOLS`).
- intents.py: the deterministic agent's reading of Jupiter prompts into tool calls.
"""

from runner.jupiter.tools import JUPITER_TOOLS, Tool, ToolContext, ToolError, tool_by_name

__all__ = ["JUPITER_TOOLS", "Tool", "ToolContext", "ToolError", "tool_by_name"]
