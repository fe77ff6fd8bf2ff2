"""What the model is told: a short fixed system prompt and a deterministic user message.

The user message is the benchmark's prompt followed by an Accounts block sorted by name:
each placeholder with its address and SOL balance and, for token accounts, mint, owner,
raw amount and decimals. The same inputs always render the same bytes (cacheable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.b58 import is_pubkey
from runner.programs import TOKEN_PROGRAMS, mint_decimals

SYSTEM_PROMPT = (
    "You are an agent that acts on Solana for the user by calling tools. Each tool call that "
    "succeeds builds instructions; after your last reply they are executed together, in call "
    "order, in one transaction signed by the user (USER_WALLET_PUBKEY). Amounts are always in the "
    "smallest unit: lamports for SOL (1 SOL = 1000000000 lamports) and raw units for tokens "
    "(amount x 10^decimals). Name accounts by the placeholders listed under Accounts or by their "
    "addresses; both work. If a tool returns an error, correct the call. When everything asked is "
    "built, reply with one short sentence and no tool call."
)

LAMPORTS_PER_SOL = 1_000_000_000


def render_user_message(prompt: str, key_map: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]) -> str:
    names = {address: name for name, address in key_map.items() if not is_pubkey(name)}
    lines = [prompt.strip(), "", "Accounts:"]
    for name in sorted(key_map):
        if is_pubkey(name):
            continue  # programs and mints: addresses already, nothing to resolve
        state = states.get(name)
        address = key_map[name]
        if state is None:
            lines.append(f"- {name}: {address}; does not exist yet")
            continue
        lamports = int(state.get("lamports", 0))
        line = f"- {name}: {address}; {lamports / LAMPORTS_PER_SOL:.9f} SOL ({lamports} lamports)"
        if state.get("owner") in TOKEN_PROGRAMS and "mint" in state:
            mint = str(state["mint"])
            owner = str(state.get("token_account_owner", ""))
            owner_text = f"{names[owner]} ({owner})" if owner in names else owner
            line += (
                f"; token account: mint {mint}, owner {owner_text}, amount {state.get('amount')} raw units, "
                f"decimals {mint_decimals(mint)}"
            )
        lines.append(line)
    return "\n".join(lines)


def truncate_prompt(text: str, limit: int = 500) -> str:
    """As upstream's OTEL Prompt line: the first 500 characters and the original size."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated, original size: {len(text.encode('utf-8'))} bytes]"
