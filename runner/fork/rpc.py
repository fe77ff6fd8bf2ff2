"""A Solana JSON-RPC client for what fork mode needs: getMultipleAccounts, batched.

At most 100 keys a call (the limit of public RPC nodes), base64 encoding, commitment
"confirmed". Transport errors are retried by JsonHttp; an answer of the wrong shape is an
RpcError naming the method and what was wrong, never an empty account.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.fork.accounts import MAX_ACCOUNT_BYTES, AccountDecodeError, FetchedAccount
from runner.fork.http import HttpError, JsonHttp, redact

MAX_KEYS_PER_CALL = 100
RPC_URL_ENV = "REEV_RPC_URL"


class RpcError(Exception):
    """The RPC node could not give us the accounts; str() is one line."""


def check_rpc_url(url: str) -> str:
    p = urllib.parse.urlsplit(url)
    if p.scheme not in ("http", "https") or not p.hostname:
        raise RpcError(f"RPC URL {redact(url)!r} is not an http(s) URL")
    return url


@dataclass
class RpcClient:
    url: str
    http: JsonHttp = field(default_factory=JsonHttp)
    max_account_bytes: int = MAX_ACCOUNT_BYTES
    calls: int = 0  # getMultipleAccounts calls that succeeded
    keys_fetched: int = 0

    def __post_init__(self) -> None:
        check_rpc_url(self.url)

    def get_multiple_accounts(self, addresses: Sequence[str]) -> tuple[dict[str, FetchedAccount | None], int]:
        """({address: account or None when it does not exist}, highest context slot seen)."""
        out: dict[str, FetchedAccount | None] = {}
        slot = 0
        unique = list(dict.fromkeys(addresses))
        for i in range(0, len(unique), MAX_KEYS_PER_CALL):
            batch = unique[i : i + MAX_KEYS_PER_CALL]
            got, s = self._batch(batch)
            out.update(got)
            slot = max(slot, s)
        return out, slot

    def _batch(self, keys: list[str]) -> tuple[dict[str, FetchedAccount | None], int]:
        body = {
            "jsonrpc": "2.0",
            "id": self.calls + 1,
            "method": "getMultipleAccounts",
            "params": [keys, {"encoding": "base64", "commitment": "confirmed"}],
        }
        where = f"getMultipleAccounts at {redact(self.url)}"
        try:
            answer = self.http.request("POST", self.url, body)
        except HttpError as exc:
            raise RpcError(f"getMultipleAccounts: {exc}") from None
        if not isinstance(answer, dict):
            raise RpcError(f"{where}: answer is not a JSON-RPC object")
        if answer.get("error") is not None:
            err = answer["error"]
            msg = err.get("message") if isinstance(err, dict) else err
            raise RpcError(f"{where}: RPC error: {str(msg)[:300]}")
        result = answer.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("value"), list):
            raise RpcError(f"{where}: answer has no result.value list")
        values = result["value"]
        if len(values) != len(keys):
            raise RpcError(f"{where}: asked for {len(keys)} accounts, got {len(values)} (truncated answer?)")
        slot = _slot(result.get("context"))
        out: dict[str, FetchedAccount | None] = {}
        try:
            for key, value in zip(keys, values, strict=True):
                out[key] = None if value is None else FetchedAccount.from_rpc(key, value, slot, self.max_account_bytes)
        except AccountDecodeError as exc:
            raise RpcError(f"{where}: {exc}") from None
        self.calls += 1
        self.keys_fetched += len(keys)
        return out, slot


def _slot(context: Any) -> int:
    if isinstance(context, dict):
        s = context.get("slot")
        if isinstance(s, int) and not isinstance(s, bool) and s >= 0:
            return s
    return 0
