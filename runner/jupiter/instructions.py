"""Jupiter's instruction JSON -> RawInstruction, and whole API answers -> instruction lists.

Jupiter writes an instruction as {"programId", "accounts": [{"pubkey", "isSigner",
"isWritable"}], "data": base64}; upstream reev's RawInstruction (ours) carries base58 data.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from runner.actions import AccountMetaData, RawInstruction
from runner.b58 import b58encode, is_pubkey

PACKET_DATA_SIZE = 1232  # Solana's largest serialized transaction, in bytes
SWAP_PARTS = ("tokenLedgerInstruction", "computeBudgetInstructions", "setupInstructions", "swapInstruction",
              "cleanupInstruction", "otherInstructions")


class InstructionFormatError(ValueError):
    """An API answer whose instructions are not in Jupiter's shape; names the field."""


def to_raw(ix: Any, where: str) -> RawInstruction:
    if not isinstance(ix, dict):
        raise InstructionFormatError(f"{where}: expected an instruction object")
    program = ix.get("programId")
    if not isinstance(program, str) or not is_pubkey(program):
        raise InstructionFormatError(f"{where}.programId: not a base58 public key")
    accounts = ix.get("accounts")
    if not isinstance(accounts, list):
        raise InstructionFormatError(f"{where}.accounts: expected a list")
    metas = []
    for i, a in enumerate(accounts):
        if not isinstance(a, dict) or not isinstance(a.get("pubkey"), str) or not is_pubkey(a["pubkey"]):
            raise InstructionFormatError(f"{where}.accounts[{i}].pubkey: not a base58 public key")
        metas.append(AccountMetaData(a["pubkey"], bool(a.get("isSigner")), bool(a.get("isWritable"))))
    data = ix.get("data", "")
    if not isinstance(data, str):
        raise InstructionFormatError(f"{where}.data: expected a base64 string")
    if len(data) > (PACKET_DATA_SIZE + 2) // 3 * 4:
        # Checked before encoding: base58 is quadratic (10 MB would take days), and data larger
        # than a whole transaction could never be executed anyway.
        raise InstructionFormatError(f"{where}.data: longer than a transaction ({PACKET_DATA_SIZE} bytes)")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InstructionFormatError(f"{where}.data: not valid base64") from None
    return RawInstruction(program, tuple(metas), b58encode(raw))


def swap_instructions(answer: Any) -> tuple[list[RawInstruction], list[str]]:
    """All instructions of a swap-instructions answer, in execution order, and its lookup tables."""
    if not isinstance(answer, dict) or not isinstance(answer.get("swapInstruction"), dict):
        raise InstructionFormatError("swap-instructions answer: swapInstruction is missing")
    out: list[RawInstruction] = []
    for part in SWAP_PARTS:
        value = answer.get(part)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        out += [to_raw(ix, f"{part}[{i}]" if isinstance(value, list) else part) for i, ix in enumerate(items)]
    tables = answer.get("addressLookupTableAddresses") or []
    if not isinstance(tables, list) or not all(isinstance(t, str) and is_pubkey(t) for t in tables):
        raise InstructionFormatError("addressLookupTableAddresses: expected a list of base58 public keys")
    return out, list(tables)


def lend_instructions(answer: Any) -> list[RawInstruction]:
    """A lend earn *-instructions answer: {"instructions": [...]} or a single instruction."""
    if isinstance(answer, dict) and isinstance(answer.get("instructions"), list):
        return [to_raw(ix, f"instructions[{i}]") for i, ix in enumerate(answer["instructions"])]
    if isinstance(answer, dict) and "programId" in answer:
        return [to_raw(answer, "instruction")]
    raise InstructionFormatError("lend answer: expected {'instructions': [...]} or one instruction")
