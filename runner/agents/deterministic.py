"""The reference agent: reads a small, fixed prompt grammar and builds exact instructions.

It solves every benchmark that runs on the embedded VM (upstream 001-004 and ours) from
the prompt, key_map and account_states alone, never from the ground truth, so its score
is a real measurement of the scorer and the VM. Understood phrases (placeholders in
parentheses):

    <n> SOL to ... (WALLET)                               system transfer from the user
    <n> <TOKEN> from ... (SRC_TOKEN_ACCOUNT) to ... (DST_TOKEN_ACCOUNT)   token transfer
    authorised by ... (WALLET)                            transfer authority (default: user)
    create it for ... (WALLET)                            create DST's associated account first
    memo "<text>"                                         a memo signed by the user

Instruction order: account creations, transfers in prompt order, then memos.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from runner import __version__
from runner.actions import AccountMetaData, RawInstruction
from runner.agents.base import AgentError, AgentInput, AgentOutput
from runner.b58 import b58encode, is_pubkey
from runner.programs import (
    ASSOCIATED_TOKEN_PROGRAM,
    MEMO_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAMS,
    USER_WALLET,
    mint_decimals,
)

_ID = r"\((?P<{}>[A-Za-z0-9_]+)\)"
_NUM = r"(?P<amount>\d+(?:\.\d+)?)"
SOL_RE = re.compile(rf"{_NUM}\s+SOL\s+to\s+[^()]*?{_ID.format('to')}", re.I)
TOKEN_RE = re.compile(
    rf"{_NUM}\s+(?P<symbol>[A-Za-z][A-Za-z0-9]*)\s+from\s+[^()]*?{_ID.format('src')}\s+to\s+[^()]*?{_ID.format('dst')}"
)
AUTHORITY_RE = re.compile(rf"authori[sz]ed\s+by\s+[^()]*?{_ID.format('auth')}", re.I)
CREATE_RE = re.compile(rf"create\s+it\s+for\s+[^()]*?{_ID.format('owner')}", re.I)
MEMO_RE = re.compile(r'memo\s+"(?P<text>[^"]*)"', re.I)

SYSTEM_TRANSFER = 2  # system instruction index
TOKEN_TRANSFER = 3  # SPL Token / Token-2022 instruction index
ATA_CREATE_IDEMPOTENT = 1


class DeterministicAgent:
    name = "deterministic"
    version = __version__
    tool_names: tuple[str, ...] = ("sol_transfer", "spl_transfer", "create_associated_token_account", "memo")

    def run(self, inp: AgentInput) -> AgentOutput:
        ctx = InstructionBuilder(inp.key_map, inp.account_states)
        creates: list[RawInstruction] = []
        transfers: list[tuple[int, RawInstruction]] = []
        auth = AUTHORITY_RE.search(inp.prompt)
        authority = auth["auth"] if auth else USER_WALLET
        for m in SOL_RE.finditer(inp.prompt):
            lamports = base_units(m["amount"], 9)
            transfers.append((m.start(), ctx.sol_transfer(m["to"], lamports)))
        create = CREATE_RE.search(inp.prompt)
        for m in TOKEN_RE.finditer(inp.prompt):
            if m["symbol"].upper() == "SOL":
                continue
            src = ctx.token_account(m["src"])
            amount = base_units(m["amount"], mint_decimals(src["mint"]))
            if create is not None and m["dst"] not in inp.account_states:
                creates.append(ctx.create_ata(m["dst"], create["owner"], src["mint"], src["owner"]))
            transfers.append((m.start(), ctx.token_transfer(src["owner"], m["src"], m["dst"], authority, amount)))
        memos = [ctx.memo(m["text"]) for m in MEMO_RE.finditer(inp.prompt)]
        instructions = creates + [ix for _, ix in sorted(transfers, key=lambda t: t[0])] + memos
        if not instructions:
            raise AgentError("the deterministic agent found no action it understands in the prompt")
        return AgentOutput(instructions)


class InstructionBuilder:
    """Instruction builders shared by this agent and the LLM tools (runner/tools/): one
    encoding of every instruction, whichever agent asked for it. Names resolve through the
    key_map; a base58 address stands for itself."""

    def __init__(self, key_map: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]) -> None:
        self.key_map = key_map
        self.states = states

    def addr(self, name: str) -> str:
        if name in self.key_map:
            return self.key_map[name]
        if is_pubkey(name):
            return name
        raise AgentError(f"unknown account {name!r}: not in the key_map")

    def token_account(self, name: str) -> Mapping[str, Any]:
        state = self.states.get(name)
        if state is None or state.get("owner") not in TOKEN_PROGRAMS or "mint" not in state:
            raise AgentError(f"{name} is not an existing token account")
        return state

    def sol_transfer(self, to: str, lamports: int, sender: str = USER_WALLET) -> RawInstruction:
        return RawInstruction(
            SYSTEM_PROGRAM,
            (AccountMetaData(self.addr(sender), True, True), AccountMetaData(self.addr(to), False, True)),
            b58encode(struct.pack("<IQ", SYSTEM_TRANSFER, lamports)),
        )

    def token_transfer(self, program: str, src: str, dst: str, authority: str, amount: int) -> RawInstruction:
        return RawInstruction(
            program,
            (
                AccountMetaData(self.addr(src), False, True),
                AccountMetaData(self.addr(dst), False, True),
                AccountMetaData(self.addr(authority), True, False),
            ),
            b58encode(struct.pack("<BQ", TOKEN_TRANSFER, amount)),
        )

    def create_ata(self, ata: str, owner: str, mint: str, program: str) -> RawInstruction:
        return RawInstruction(
            ASSOCIATED_TOKEN_PROGRAM,
            (
                AccountMetaData(self.addr(USER_WALLET), True, True),
                AccountMetaData(self.addr(ata), False, True),
                AccountMetaData(self.addr(owner), False, False),
                AccountMetaData(mint, False, False),
                AccountMetaData(SYSTEM_PROGRAM, False, False),
                AccountMetaData(program, False, False),
            ),
            b58encode(bytes([ATA_CREATE_IDEMPOTENT])),
        )

    def memo(self, text: str, signer: str = USER_WALLET) -> RawInstruction:
        return RawInstruction(
            MEMO_PROGRAM, (AccountMetaData(self.addr(signer), True, False),), b58encode(text.encode("utf-8"))
        )


def base_units(amount: str, decimals: int) -> int:
    try:
        value = Decimal(amount) * (10**decimals)
    except InvalidOperation:
        raise AgentError(f"cannot read amount {amount!r}") from None
    if value != value.to_integral_value():
        raise AgentError(f"amount {amount} has more than {decimals} decimals")
    return int(value)
