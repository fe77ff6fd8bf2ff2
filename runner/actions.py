"""What an agent returns: raw instructions in upstream's JSON shape (base58 data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AccountMetaData:
    pubkey: str
    is_signer: bool
    is_writable: bool

    def to_dict(self) -> dict[str, Any]:
        return {"is_signer": self.is_signer, "is_writable": self.is_writable, "pubkey": self.pubkey}


@dataclass(frozen=True)
class RawInstruction:
    """One instruction as upstream's agents emit it: program_id, accounts, base58 data."""

    program_id: str
    accounts: tuple[AccountMetaData, ...]
    data: str

    def to_dict(self) -> dict[str, Any]:
        # Key order matches upstream's session files (alphabetical).
        return {"accounts": [a.to_dict() for a in self.accounts], "data": self.data, "program_id": self.program_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RawInstruction:
        """Build from an agent's JSON (e.g. an LLM tool result); raises ValueError if malformed."""
        try:
            accounts = tuple(
                AccountMetaData(str(a["pubkey"]), bool(a["is_signer"]), bool(a["is_writable"])) for a in d["accounts"]
            )
            return cls(str(d["program_id"]), accounts, str(d.get("data", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed instruction: {exc}") from None
