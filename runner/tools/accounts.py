"""Account tools: create an associated token account, attach a memo, read a balance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.programs import TOKEN_PROGRAMS, mint_decimals
from runner.tools.base import Tool, ToolContext, ToolError, ToolResult, instructions_output, optional_text_arg, text_arg
from runner.tools.transfers import derive_ata

MAX_MEMO_BYTES = 566  # what fits in one transaction next to a transfer


def _create_ata(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    owner = text_arg(args, "owner_pubkey")
    mint = ctx.address(text_arg(args, "mint_address"))
    mint_state = ctx.state_of(mint) if ctx.name_of(mint) else None
    program = str(mint_state["owner"]) if mint_state and mint_state.get("owner") in TOKEN_PROGRAMS else None
    if program is None:
        raise ToolError(f"mint_address: {mint} is not a mint on this chain")
    ata = derive_ata(ctx.address(owner), mint, program)
    ix = ctx.builder.create_ata(ata, owner, mint, program)
    name = ctx.name_of(ata)
    where = f"{ata} ({name})" if name else ata
    return instructions_output(ctx, (ix,), f"create the associated token account {where} of {owner} for mint {mint}")


def _memo(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    text = args.get("memo")
    if not isinstance(text, str) or not text:
        raise ToolError("memo: required, a non-empty string")
    if len(text.encode("utf-8")) > MAX_MEMO_BYTES:
        raise ToolError(f"memo: longer than {MAX_MEMO_BYTES} bytes")
    signer = optional_text_arg(args, "user_pubkey") or "USER_WALLET_PUBKEY"
    ctx.address(signer)
    return instructions_output(ctx, (ctx.builder.memo(text, signer=signer),), f"memo {text!r} signed by {signer}")


def _balance(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    name = text_arg(args, "pubkey")
    address = ctx.address(name)
    token_mint = optional_text_arg(args, "token_mint")
    state = ctx.state_of(name)
    out: dict[str, Any] = {"status": "ok", "pubkey": name, "address": address, "exists": state is not None}
    if state is None:
        return ToolResult(out)
    out["lamports"] = int(state.get("lamports", 0))
    if "mint" in state:
        out.update(_token_fields(state))
    if token_mint is not None:
        mint = ctx.address(token_mint)
        held = [s for s in ctx.account_states.values() if s.get("mint") == mint and s.get("token_account_owner") == address]
        out["token_balance"] = {"mint": mint, "amount": sum(int(s.get("amount", 0)) for s in held), "decimals": mint_decimals(mint)}
    return ToolResult(out)


def _token_fields(state: Mapping[str, Any]) -> dict[str, Any]:
    mint = str(state["mint"])
    return {"mint": mint, "owner": state.get("token_account_owner"), "amount": int(state.get("amount", 0)), "decimals": mint_decimals(mint)}


CREATE_ATA = Tool(
    name="create_associated_token_account",
    description=(
        "Create (idempotently) the associated token account of a wallet for a mint, paid by the user. "
        "Use it before paying tokens to a token account that does not exist yet."
    ),
    parameters={
        "type": "object",
        "properties": {
            "user_pubkey": {"type": ["string", "null"], "description": "The payer (USER_WALLET_PUBKEY); optional"},
            "owner_pubkey": {"type": "string", "description": "The wallet that will own the token account"},
            "mint_address": {"type": "string", "description": "The token's mint address"},
        },
        "required": ["owner_pubkey", "mint_address"],
    },
    handler=_create_ata,
)

MEMO = Tool(
    name="memo",
    description="Attach a UTF-8 memo to the transaction, signed by the user.",
    parameters={
        "type": "object",
        "properties": {
            "memo": {"type": "string", "description": "The memo text, exactly as asked"},
            "user_pubkey": {"type": ["string", "null"], "description": "The signer (USER_WALLET_PUBKEY); optional"},
        },
        "required": ["memo"],
    },
    handler=_memo,
)

GET_ACCOUNT_BALANCE = Tool(
    name="get_account_balance",
    description=(
        "Read-only: the current SOL balance (lamports) of an account, and for a token account its mint, "
        "owner, raw amount and decimals; with token_mint, a wallet's total raw balance of that token."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pubkey": {"type": "string", "description": "A placeholder or address"},
            "token_mint": {"type": ["string", "null"], "description": "Optional mint to total a wallet's tokens"},
            "account_type": {"type": ["string", "null"], "description": "Optional hint, ignored"},
        },
        "required": ["pubkey"],
    },
    handler=_balance,
)
