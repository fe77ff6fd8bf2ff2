"""The deterministic agent's reading of Jupiter prompts: phrases -> (tool name, arguments).

Understood (case-insensitive; <sym> is a symbol from mints.SYMBOLS):
    swap <n> <sym> for|to|into <sym>            jupiter_swap
    deposit|lend <n> <sym>                      jupiter_lend_earn_deposit
    deposit all (the|my) <sym>                  ... the user's whole balance of <sym>
    withdraw <n> <sym>                          jupiter_lend_earn_withdraw
    mint <n> <sym>                              jupiter_lend_earn_mint (shares 1:1 with the amount)
    redeem all (my) <share sym> / redeem <n> <share sym>   jupiter_lend_earn_redeem
    "jupiter_earn" or "positions" + "earn"      jupiter_earn {operation: both}
Calls come out in prompt order. Amounts are read from the prompt or from account_states,
never from the ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.agents.base import AgentError
from runner.agents.deterministic import base_units
from runner.jupiter.mints import SHARE_ASSET, SYMBOLS
from runner.programs import USER_WALLET

_N = r"(?P<amount>\d+(?:\.\d+)?)"
_S = r"(?P<sym>[A-Za-z][\w-]*)"
SWAP_RE = re.compile(rf"\bswap\s+{_N}\s+(?P<src>[A-Za-z][\w-]*)\s+(?:for|to|into)\s+(?P<dst>[A-Za-z][\w-]*)", re.I)
DEPOSIT_RE = re.compile(rf"\b(?:deposit|lend)\s+{_N}\s+{_S}", re.I)
DEPOSIT_ALL_RE = re.compile(rf"\bdeposit\s+all\s+(?:of\s+)?(?:the\s+|my\s+)?{_S}", re.I)
WITHDRAW_RE = re.compile(rf"\bwithdraw\s+{_N}\s+{_S}", re.I)
MINT_RE = re.compile(rf"\bmint\s+{_N}\s+{_S}", re.I)
REDEEM_RE = re.compile(rf"\bredeem\s+(?:all\s+(?:of\s+)?(?:my\s+)?|{_N}\s+){_S}", re.I)
EARN_RE = re.compile(r"jupiter_earn|\bpositions\b.*\bearn", re.I | re.S)


class IntentError(ValueError):
    """A Jupiter prompt the deterministic agent cannot turn into tool calls."""


def is_jupiter_prompt(prompt: str) -> bool:
    return bool(re.search(r"jupiter|\bj(?:l)?usdc\b|\bj(?:l)?sol\b", prompt, re.I))


def tool_calls(
    prompt: str, key_map: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    user = USER_WALLET
    found: list[tuple[int, str, dict[str, Any]]] = []
    for m in SWAP_RE.finditer(prompt):
        src, dst = _sym(m["src"]), _sym(m["dst"])
        found.append((m.start(), "jupiter_swap", {
            "user_pubkey": user, "input_mint": src[0], "output_mint": dst[0],
            "amount": _units(m["amount"], src[1]),
        }))
    for regex, tool in ((DEPOSIT_RE, "jupiter_lend_earn_deposit"), (WITHDRAW_RE, "jupiter_lend_earn_withdraw")):
        for m in regex.finditer(prompt):
            mint, dec = _sym(m["sym"])
            found.append((m.start(), tool, {"user_pubkey": user, "asset_mint": mint, "amount": _units(m["amount"], dec)}))
    for m in DEPOSIT_ALL_RE.finditer(prompt):
        mint, _ = _sym(m["sym"])
        amount = _balance(mint, key_map.get(user, ""), states)
        found.append((m.start(), "jupiter_lend_earn_deposit", {"user_pubkey": user, "asset_mint": mint, "amount": amount}))
    for m in MINT_RE.finditer(prompt):
        mint, dec = _sym(m["sym"])
        found.append((m.start(), "jupiter_lend_earn_mint",
                      {"asset": mint, "signer": user, "shares": _units(m["amount"], dec)}))
    for m in REDEEM_RE.finditer(prompt):
        share_mint, dec = _sym(m["sym"])
        asset = SHARE_ASSET.get(share_mint)
        if asset is None:
            raise IntentError(f"{m['sym']} is not a Jupiter Lend share token")
        shares = _units(m["amount"], dec) if m["amount"] else _balance(share_mint, key_map.get(user, ""), states)
        found.append((m.start(), "jupiter_lend_earn_redeem", {"asset": asset, "signer": user, "shares": shares}))
    earn = EARN_RE.search(prompt)
    if earn is not None and not found:
        found.append((earn.start(), "jupiter_earn", {"user_pubkey": user, "operation": "both"}))
    return [(name, args) for _, name, args in sorted(found, key=lambda t: t[0])]


def _sym(symbol: str) -> tuple[str, int]:
    got = SYMBOLS.get(symbol.upper())
    if got is None:
        raise IntentError(f"unknown token symbol {symbol!r} (known: {', '.join(sorted(SYMBOLS))})")
    return got


def _units(amount: str, decimals: int) -> int:
    """The deterministic agent's reading of an amount (one rule for both), as an IntentError."""
    try:
        return base_units(amount, decimals)
    except AgentError as exc:
        raise IntentError(str(exc)) from None


def _balance(mint: str, owner: str, states: Mapping[str, Mapping[str, Any]]) -> int:
    """The owner's token balance of `mint` as the observation shows it."""
    total = None
    for state in states.values():
        if state.get("mint") == mint and state.get("token_account_owner") == owner:
            total = (total or 0) + int(state.get("amount", 0))
    if not total:
        raise IntentError(f"no balance of mint {mint} held by the user is visible in the account states")
    return total
