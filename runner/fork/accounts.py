"""One account as fetched from an RPC node and as stored in a snapshot."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

# Solana's MAX_PERMITTED_DATA_LENGTH: no real account is larger, so a bigger answer is an error.
MAX_ACCOUNT_BYTES = 10 * 1024 * 1024


class AccountDecodeError(ValueError):
    """An account in an RPC answer or snapshot that cannot be used; names the address."""


@dataclass(frozen=True)
class FetchedAccount:
    address: str
    owner: str
    lamports: int
    data: bytes
    executable: bool
    rent_epoch: int
    slot: int  # the context slot of the answer that carried it

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "lamports": self.lamports,
            "data": base64.b64encode(self.data).decode("ascii"),
            "executable": self.executable,
            "rent_epoch": self.rent_epoch,
            "slot": self.slot,
        }

    @classmethod
    def from_json(cls, address: str, d: dict[str, Any]) -> FetchedAccount:
        try:
            return cls(
                address=address,
                owner=str(d["owner"]),
                lamports=_uint(d["lamports"], "lamports"),
                data=_b64(d["data"], address),
                executable=bool(d["executable"]),
                rent_epoch=_uint(d.get("rent_epoch", 0), "rent_epoch"),
                slot=_uint(d.get("slot", 0), "slot"),
            )
        except (KeyError, TypeError) as exc:
            raise AccountDecodeError(f"account {address}: missing or mistyped field {exc}") from None

    @classmethod
    def from_rpc(cls, address: str, value: Any, slot: int, max_bytes: int = MAX_ACCOUNT_BYTES) -> FetchedAccount:
        """From one entry of getMultipleAccounts' `value` list (encoding base64)."""
        if not isinstance(value, dict):
            raise AccountDecodeError(f"account {address}: expected an object, got {type(value).__name__}")
        data = value.get("data")
        if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str)):
            raise AccountDecodeError(f"account {address}: data is not a [string, encoding] pair")
        if data[1] != "base64":
            raise AccountDecodeError(f"account {address}: data encoding is {data[1]!r}, expected 'base64'")
        if len(data[0]) > (max_bytes + 2) // 3 * 4:  # checked before decoding: no huge allocation
            raise AccountDecodeError(f"account {address}: data is larger than the limit of {max_bytes} bytes")
        raw = _b64(data[0], address)
        if len(raw) > max_bytes:
            raise AccountDecodeError(f"account {address}: data is larger than the limit of {max_bytes} bytes")
        try:
            return cls(
                address=address,
                owner=str(value["owner"]),
                lamports=_uint(value["lamports"], "lamports"),
                data=raw,
                executable=bool(value["executable"]),
                rent_epoch=_uint(value.get("rentEpoch", 0) % 2**64, "rentEpoch"),
                slot=slot,
            )
        except (KeyError, TypeError) as exc:
            raise AccountDecodeError(f"account {address}: missing or mistyped field {exc}") from None


def _uint(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise TypeError(name)
    return v


def _b64(text: Any, address: str) -> bytes:
    if not isinstance(text, str):
        raise AccountDecodeError(f"account {address}: data is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AccountDecodeError(f"account {address}: data is not valid base64") from None
