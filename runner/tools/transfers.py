"""sol_transfer and spl_transfer with upstream reev's names and parameters (smallest units)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.programs import SYSTEM_PROGRAM, TOKEN_PROGRAM, TOKEN_PROGRAMS, mint_decimals
from runner.tools.base import (
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    amount_arg,
    instructions_output,
    optional_text_arg,
    text_arg,
)


def _sol_transfer(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    operation = optional_text_arg(args, "operation") or "sol"
    if operation == "spl":
        return _spl_transfer(ctx, args)
    if operation != "sol":
        raise ToolError(f"operation: {operation!r} is not 'sol' or 'spl'")
    user = text_arg(args, "user_pubkey")
    recipient = text_arg(args, "recipient_pubkey")
    lamports = amount_arg(args)
    ctx.address(user), ctx.address(recipient)  # a clear error for an unknown name
    ix = ctx.builder.sol_transfer(recipient, lamports, sender=user)
    return instructions_output(ctx, (ix,), f"System transfer of {lamports} lamports from {user} to {recipient}")


def _token_program(ctx: ToolContext, mint: str, source_state: Mapping[str, Any] | None) -> str:
    if source_state is not None and source_state.get("owner") in TOKEN_PROGRAMS:
        return str(source_state["owner"])
    mint_state = ctx.state_of(mint) if mint in ctx.key_map or ctx.name_of(mint) else None
    if mint_state is not None and mint_state.get("owner") in TOKEN_PROGRAMS:
        return str(mint_state["owner"])
    return TOKEN_PROGRAM


def derive_ata(owner: str, mint: str, program: str) -> str:
    from solders.pubkey import Pubkey  # lazy: solders is only needed when a tool runs
    from solders.token.associated import get_associated_token_address

    return str(get_associated_token_address(Pubkey.from_string(owner), Pubkey.from_string(mint), Pubkey.from_string(program)))


def _source_account(ctx: ToolContext, owner_address: str, mint: str) -> tuple[str, Mapping[str, Any] | None]:
    """The owner's existing token account for the mint (by state), else its derived ATA."""
    for name, state in sorted(ctx.account_states.items()):
        if state.get("mint") == mint and state.get("token_account_owner") == owner_address:
            return ctx.address(name), state
    return derive_ata(owner_address, mint, _token_program(ctx, mint, None)), None


def _spl_transfer(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    user = text_arg(args, "user_pubkey")
    recipient = text_arg(args, "recipient_pubkey")
    mint_name = text_arg(args, "mint_address")
    amount = amount_arg(args)
    mint = ctx.address(mint_name)
    user_address = ctx.address(user)
    source, source_state = _source_account(ctx, user_address, mint)
    program = _token_program(ctx, mint, source_state)
    destination = ctx.address(recipient)
    dest_state = ctx.state_of(recipient)
    if dest_state is not None and dest_state.get("owner") == SYSTEM_PROGRAM:
        # A wallet was named: pay its associated token account (as upstream's tool does).
        destination = derive_ata(destination, mint, program)
    elif dest_state is not None and dest_state.get("mint") not in (None, mint):
        raise ToolError(f"recipient_pubkey: {recipient} holds mint {dest_state.get('mint')}, not {mint}")
    ix = ctx.builder.token_transfer(program, source, destination, user, amount)
    ui = amount / 10 ** mint_decimals(mint)
    return instructions_output(
        ctx, (ix,), f"token transfer of {amount} raw units ({ui:g} tokens) of {mint} from {source} to {destination}"
    )


SOL_TRANSFER = Tool(
    name="sol_transfer",
    description=(
        "Transfer native SOL (operation 'sol') from the user's wallet to a recipient wallet, or tokens "
        "(operation 'spl', with mint_address). The amount is in the smallest unit: lamports for SOL "
        "(1 SOL = 1000000000 lamports), raw units for tokens."
    ),
    parameters={
        "type": "object",
        "properties": {
            "user_pubkey": {"type": "string", "description": "The sender's wallet: USER_WALLET_PUBKEY or its address"},
            "recipient_pubkey": {
                "type": "string",
                "description": "The recipient's wallet: a placeholder such as RECIPIENT_WALLET_PUBKEY or an address",
            },
            "amount": {"type": "number", "description": "Amount in the smallest unit (lamports for SOL)"},
            "operation": {"type": "string", "enum": ["sol", "spl"], "description": "'sol' for SOL, 'spl' for a token"},
            "mint_address": {"type": ["string", "null"], "description": "The token mint, only for operation 'spl'"},
        },
        "required": ["user_pubkey", "recipient_pubkey", "amount", "operation"],
    },
    handler=_sol_transfer,
)

SPL_TRANSFER = Tool(
    name="spl_transfer",
    description=(
        "Transfer SPL tokens (SPL Token or Token-2022) from the user's token account for the mint to the "
        "recipient's token account. The amount is in raw units (e.g. 1 USDC = 1000000)."
    ),
    parameters={
        "type": "object",
        "properties": {
            "user_pubkey": {
                "type": "string",
                "description": "The owner of the source token account (who signs): a placeholder or address",
            },
            "recipient_pubkey": {
                "type": "string",
                "description": "The recipient's token account (e.g. RECIPIENT_USDC_ATA), or a wallet to pay its associated token account",
            },
            "amount": {"type": "number", "description": "Amount in raw token units"},
            "mint_address": {"type": "string", "description": "The token's mint address"},
        },
        "required": ["user_pubkey", "recipient_pubkey", "amount", "mint_address"],
    },
    handler=_spl_transfer,
)
