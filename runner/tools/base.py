"""What a tool is: a name, a description, a JSON-schema of its parameters and a handler.

`handler(ctx, args)` gets the arguments as the model sent them (already JSON-decoded) and
returns a ToolResult: what to tell the model, plus the instructions it built (if any). A
ToolError (or the builders' AgentError) becomes an error tool result the model can read
and correct; it never ends the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from runner.actions import RawInstruction
from runner.agents.deterministic import InstructionBuilder
from runner.b58 import is_pubkey


MAX_U64 = 2**64 - 1  # amounts are u64 in every instruction the tools build


class ToolError(Exception):
    """Bad arguments or an impossible request; the message goes back to the model."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool may look at: the step's key_map and account states (the VM's current state)."""

    key_map: Mapping[str, str]
    account_states: Mapping[str, Mapping[str, Any]]
    builder: InstructionBuilder = field(init=False)
    env: Mapping[str, str] = field(default_factory=dict)  # runner settings a tool may need (e.g. an RPC URL)
    services: Mapping[str, Any] = field(default_factory=dict)  # AgentInput.services (fork mode: "jupiter")

    def __post_init__(self) -> None:
        object.__setattr__(self, "builder", InstructionBuilder(self.key_map, self.account_states))

    def address(self, name: str) -> str:
        """A placeholder's address, or a base58 address itself."""
        if name in self.key_map:
            return self.key_map[name]
        if is_pubkey(name):
            return name
        raise ToolError(f"unknown account {name!r}: use a placeholder listed under Accounts or a base58 address")

    def name_of(self, address: str) -> str | None:
        """The placeholder (or other key_map name) of an address, if any."""
        for name, value in self.key_map.items():
            if value == address:
                return name
        return None

    def state_of(self, name_or_address: str) -> Mapping[str, Any] | None:
        if name_or_address in self.account_states:
            return self.account_states[name_or_address]
        name = self.name_of(self.address(name_or_address))
        return self.account_states.get(name) if name is not None else None


@dataclass(frozen=True)
class ToolResult:
    output: dict[str, Any]  # JSON sent back to the model as the tool message
    instructions: tuple[RawInstruction, ...] = ()


Handler = Callable[[ToolContext, Mapping[str, Any]], ToolResult]


def _always(_ctx: ToolContext) -> bool:
    return True


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema (type: object)
    handler: Handler
    # Offered only when this says so (e.g. a tool that needs a mainnet fork).
    available: Callable[[ToolContext], bool] = _always

    def spec(self) -> dict[str, Any]:
        """The chat-completions `tools[]` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


# ------------------------------------------------------------------ argument readers


def text_arg(args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"{key}: required, a non-empty string")
    return value.strip()


def optional_text_arg(args: Mapping[str, Any], key: str) -> str | None:
    """None for an absent or null field (real models send `"mint_address": null`)."""
    value = args.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ToolError(f"{key}: must be a string or null")
    return value.strip()


def amount_arg(args: Mapping[str, Any], key: str = "amount") -> int:
    """A positive whole number of smallest units; numbers as JSON numbers or digit strings."""
    value = args.get(key)
    if isinstance(value, bool) or value is None:
        raise ToolError(f"{key}: required, a whole number of smallest units")
    try:
        number = Decimal(str(value))
        # Finite and within u64 before int(): "1e999999999" would take minutes and gigabytes,
        # "Infinity"/"sNaN" raise, and more than u64 cannot be encoded in an instruction.
        ok = number.is_finite() and 0 < number <= MAX_U64 and number == number.to_integral_value()
    except (InvalidOperation, ValueError):
        raise ToolError(f"{key}: {str(value)[:40]!r} is not a number") from None
    if not ok:
        raise ToolError(
            f"{key}: {str(value)[:40]!r} must be a positive whole number of smallest units "
            f"(lamports or raw token units), at most {MAX_U64}"
        )
    return int(number)


def instructions_output(ctx: ToolContext, instructions: tuple[RawInstruction, ...], summary: str) -> ToolResult:
    return ToolResult(
        {"status": "ok", "summary": summary, "instructions": [ix.to_dict() for ix in instructions]}, instructions
    )
