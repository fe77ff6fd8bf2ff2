"""Jupiter tools with upstream reev's names and parameters, for any agent.

A tool is {name, description, parameters (JSON schema), handler(ctx, args) -> dict}. The
handler resolves placeholders (USER_WALLET_PUBKEY, ...) through the key_map, calls Jupiter
through the run's client (`ctx.services["jupiter"]`, present in fork mode only), and returns
{"status": "success", "instructions": [RawInstruction dicts], "address_lookup_tables": [...]}.
Any problem is a ToolError with a one-line message meant for the agent (an LLM sees it as
the tool's error result). Register them all with `for t in JUPITER_TOOLS: registry.add(t)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.b58 import is_pubkey
from runner.jupiter.client import LEND_OPS, JupiterClient, JupiterError
from runner.jupiter.instructions import InstructionFormatError, lend_instructions, swap_instructions
from runner.jupiter.mints import SYMBOLS

DEFAULT_SLIPPAGE_BPS = 100


class ToolError(Exception):
    """A tool call that cannot be done; str() is one line for the agent."""


@dataclass(frozen=True)
class ToolContext:
    key_map: Mapping[str, str]
    account_states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    services: Mapping[str, Any] = field(default_factory=dict)

    def jupiter(self) -> JupiterClient:
        client = self.services.get("jupiter")
        if client is None:
            raise ToolError("Jupiter tools need mainnet state: run with --rpc-url URL or from a snapshot")
        assert isinstance(client, JupiterClient)
        return client

    def address(self, value: Any, field_name: str) -> str:
        if not isinstance(value, str) or not value:
            raise ToolError(f"{field_name}: expected a placeholder name or a base58 address")
        if value in self.key_map:
            return self.key_map[value]
        if is_pubkey(value):
            return value
        raise ToolError(f"{field_name}: unknown account {value!r} (not in the key_map, not a base58 address)")

    def mint(self, value: Any, field_name: str) -> str:
        if isinstance(value, str) and value.upper() in SYMBOLS:
            return SYMBOLS[value.upper()][0]
        return self.address(value, field_name)


Handler = Callable[[ToolContext, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    handler: Handler

    def __call__(self, ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(args, Mapping):
            raise ToolError(f"{self.name}: arguments must be a JSON object")
        for name in self.parameters.get("required", []):
            if args.get(name) is None:
                raise ToolError(f"{self.name}: {name}: missing required argument")
        return self.handler(ctx, args)


def _uint(args: Mapping[str, Any], name: str, minimum: int = 1, maximum: int = 2**64 - 1) -> int:
    v = args.get(name)
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= maximum:
        raise ToolError(f"{name}: expected an integer from {minimum} to {maximum} (smallest units), got {v!r}")
    return v


def _ok(instructions: list[Any], tables: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "status": "success",
        "instructions": [ix.to_dict() for ix in instructions],
        "address_lookup_tables": tables or [],
        **extra,
    }


def _jupiter_call(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except (JupiterError, InstructionFormatError) as exc:
        raise ToolError(str(exc)) from None


# ------------------------------------------------------------------------- handlers


def _swap(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    user = ctx.address(args.get("user_pubkey"), "user_pubkey")
    input_mint = ctx.mint(args.get("input_mint"), "input_mint")
    output_mint = ctx.mint(args.get("output_mint"), "output_mint")
    amount = _uint(args, "amount")
    slippage = _uint(args, "slippage_bps", 1, 10_000) if args.get("slippage_bps") is not None else DEFAULT_SLIPPAGE_BPS
    client = ctx.jupiter()

    def run() -> dict[str, Any]:
        quote = client.quote(input_mint, output_mint, amount, slippage)
        instructions, tables = swap_instructions(client.swap_instructions(quote, user))
        out_amount = quote.get("outAmount") if isinstance(quote, dict) else None
        return _ok(instructions, tables, quote={"in_amount": str(amount), "out_amount": out_amount})

    return _jupiter_call(run)


def _lend(op: str, asset_key: str, user_key: str, value_key: str) -> Handler:
    def handler(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
        user = ctx.address(args.get(user_key), user_key)
        asset = ctx.mint(args.get(asset_key), asset_key)
        value = _uint(args, value_key)
        client = ctx.jupiter()
        return _jupiter_call(lambda: _ok(lend_instructions(client.lend_instructions(op, asset, user, value))))

    return handler


def _earn(ctx: ToolContext, args: Mapping[str, Any]) -> dict[str, Any]:
    user = ctx.address(args.get("user_pubkey"), "user_pubkey")
    operation = args.get("operation")
    if operation not in ("positions", "earnings", "both"):
        raise ToolError("operation: expected one of 'positions', 'earnings', 'both'")
    client = ctx.jupiter()

    def run() -> dict[str, Any]:
        data: dict[str, Any] = {}
        positions = client.positions(user)
        items = positions if isinstance(positions, list) else []
        addresses = [str(p.get("address") or p.get("position_address")) for p in items if isinstance(p, dict)]
        if args.get("position_address"):
            addresses = [str(args["position_address"])]
        if operation in ("positions", "both"):
            data["positions"] = {"total_positions": len(items), "summary": items}
        if operation in ("earnings", "both"):
            earnings = client.earnings(user, addresses)
            data["earnings"] = {
                "total_positions": len(addresses),
                "summary": earnings if isinstance(earnings, dict) else {"items": earnings},
                "positions": [{"position_address": a} for a in addresses],
            }
        return {"status": "success", "result": {"data": data}, "instructions": []}

    return _jupiter_call(run)


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


_ADDR = {"type": "string", "description": "a placeholder name such as USER_WALLET_PUBKEY, or a base58 address"}
_MINT = {"type": "string", "description": "a token mint address (base58) or a symbol such as SOL or USDC"}

_LEND_PARAMS = {"user_pubkey": _ADDR, "signer": _ADDR, "asset_mint": _MINT, "asset": _MINT}


def _lend_tool(op: str, description: str, params: tuple[str, str, str]) -> Tool:
    """jupiter_lend_earn_<op>: `params` are upstream's names in order (a wallet, an asset, the value)."""
    value_key = LEND_OPS[op]
    user_key = next(p for p in params if _LEND_PARAMS.get(p) is _ADDR)
    asset_key = next(p for p in params if _LEND_PARAMS.get(p) is _MINT)
    props = {p: _LEND_PARAMS.get(p, {"type": "integer", "minimum": 1}) for p in params}
    return Tool(f"jupiter_lend_earn_{op}", description, _schema(props, list(params)),
                _lend(op, asset_key, user_key, value_key))


JUPITER_TOOLS: tuple[Tool, ...] = (
    Tool(
        "jupiter_swap",
        "Swap tokens through Jupiter (quote + swap instructions). Amount in the input token's smallest units "
        "(lamports for SOL). Returns the instructions to execute.",
        _schema(
            {
                "user_pubkey": _ADDR,
                "input_mint": _MINT,
                "output_mint": _MINT,
                "amount": {"type": "integer", "minimum": 1, "description": "input amount in smallest units"},
                "slippage_bps": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "default 100"},
            },
            ["user_pubkey", "input_mint", "output_mint", "amount"],
        ),
        _swap,
    ),
    _lend_tool("deposit", "Deposit tokens into Jupiter Lend Earn (amount in the asset's smallest units).",
               ("user_pubkey", "asset_mint", "amount")),
    _lend_tool("withdraw", "Withdraw tokens from Jupiter Lend Earn (amount of the underlying asset, smallest units).",
               ("user_pubkey", "asset_mint", "amount")),
    _lend_tool("mint", "Mint Jupiter Lend Earn share tokens (e.g. jlUSDC) for an asset; shares in smallest units.",
               ("asset", "signer", "shares")),
    _lend_tool("redeem", "Redeem Jupiter Lend Earn share tokens back to the asset; shares in smallest units.",
               ("asset", "signer", "shares")),
    Tool(
        "jupiter_earn",
        "Read a user's Jupiter Lend Earn positions and/or earnings (API only, no transaction).",
        _schema(
            {
                "user_pubkey": _ADDR,
                "position_address": {"type": "string"},
                "operation": {"type": "string", "enum": ["positions", "earnings", "both"]},
            },
            ["user_pubkey", "operation"],
        ),
        _earn,
    ),
)

_BY_NAME = {t.name: t for t in JUPITER_TOOLS}


def tool_by_name(name: str) -> Tool:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ToolError(f"unknown tool {name!r}") from None
