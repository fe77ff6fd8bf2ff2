"""Where fork-mode state comes from: a live RPC node (optionally recording) or a snapshot.

A source answers two questions for a run: "what are these accounts?" and "what does this
HTTP API say to this request?" (Jupiter). Live sources go to the network; a snapshot source
never does, and a question it has no recorded answer for is an error naming what is missing.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runner.fork.accounts import FetchedAccount
from runner.fork.http import HttpError, JsonHttp, redact
from runner.fork.rpc import RpcClient, RpcError
from runner.fork.snapshot import Snapshot, save_snapshot

JUPITER_URL_ENV = "JUPITER_API_URL"
JUPITER_KEY_ENV = "JUPITER_API_KEY"  # optional (api.jup.ag); sent as x-api-key, never recorded
DEFAULT_JUPITER_URL = "https://lite-api.jup.ag"


class MissingStateError(Exception):
    """A snapshot lacks what a run asked for; str() names the account or request."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any


def request_key(method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None) -> str:
    """'GET /swap/v1/quote?a=1&b=2' (+ ' ' + canonical JSON body): base URL independent."""
    q = urllib.parse.urlencode(sorted((query or {}).items()))
    key = f"{method.upper()} {path}" + (f"?{q}" if q else "")
    if body is not None:
        key += " " + json.dumps(body, sort_keys=True, separators=(",", ":"))
    return key


class StateSource(Protocol):
    @property
    def key_seed(self) -> bytes | None: ...  # None: placeholders get random keys

    def fetch(self, addresses: Sequence[str]) -> dict[str, FetchedAccount | None]: ...
    def http(self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None) -> HttpAnswer: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class LiveSource:
    """Accounts from an RPC node and HTTP answers from the real API; records both when asked."""

    rpc: RpcClient
    api_base_url: str = field(default_factory=lambda: os.environ.get(JUPITER_URL_ENV) or DEFAULT_JUPITER_URL)
    api_http: JsonHttp = field(default_factory=JsonHttp)
    record_to: Snapshot | None = None  # set when recording a snapshot
    key_seed: bytes | None = None
    slot_min: int | None = None
    slot_max: int = 0

    def __post_init__(self) -> None:
        if self.record_to is not None:
            self.key_seed = self.record_to.key_seed
        p = urllib.parse.urlsplit(self.api_base_url)
        if p.scheme not in ("http", "https") or not p.hostname:  # urllib would also open file:// URLs
            raise RpcError(f"{JUPITER_URL_ENV} {redact(self.api_base_url)!r} is not an http(s) URL")

    def fetch(self, addresses: Sequence[str]) -> dict[str, FetchedAccount | None]:
        if not addresses:
            return {}
        got, slot = self.rpc.get_multiple_accounts(addresses)
        self.slot_min = slot if self.slot_min is None else min(self.slot_min, slot)
        self.slot_max = max(self.slot_max, slot)
        if self.record_to is not None:
            for address, acct in got.items():
                self.record_to.accounts[address] = acct
                if acct is None:
                    self.record_to.absent_slots[address] = slot
        return got

    def http(self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None) -> HttpAnswer:
        url = self.api_base_url.rstrip("/") + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        key = os.environ.get(JUPITER_KEY_ENV)
        headers = {"x-api-key": key} if key else None
        try:
            answer = HttpAnswer(200, self.api_http.request(method, url, body, headers))
        except HttpError as exc:
            if exc.status is None:
                raise  # transport failure: nothing to record
            answer = HttpAnswer(exc.status, exc.body)
        if self.record_to is not None:
            self.record_to.http[request_key(method, path, query, body)] = {"status": answer.status, "body": answer.body}
        return answer

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "rpc",
            "rpc": redact(self.rpc.url),
            "slot_min": self.slot_min,
            "slot_max": self.slot_max,
            "rpc_calls": self.rpc.calls,
            "accounts_fetched": self.rpc.keys_fetched,
            "recording": self.record_to is not None,
        }

    def save(self, path: Path) -> str:
        assert self.record_to is not None
        return save_snapshot(path, self.record_to)


@dataclass
class SnapshotSource:
    snapshot: Snapshot
    fetches: int = 0

    @property
    def key_seed(self) -> bytes | None:
        return self.snapshot.key_seed

    def fetch(self, addresses: Sequence[str]) -> dict[str, FetchedAccount | None]:
        self.fetches += 1
        out: dict[str, FetchedAccount | None] = {}
        for address in addresses:
            if address not in self.snapshot.accounts:
                raise MissingStateError(
                    f"snapshot {self.snapshot.source} has no account {address} "
                    f"(recorded at slot {self.snapshot.slot}); record it again with "
                    f"`reev-runner snapshot <benchmark> --rpc-url URL`"
                )
            out[address] = self.snapshot.accounts[address]
        return out

    def http(self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None) -> HttpAnswer:
        key = request_key(method, path, query, body)
        rec = self.snapshot.http.get(key)
        if not isinstance(rec, dict):
            raise MissingStateError(f"snapshot {self.snapshot.source} has no recorded answer for {key[:300]}")
        return HttpAnswer(int(rec.get("status", 0)), rec.get("body"))

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "snapshot",
            "snapshot": Path(self.snapshot.source).name,
            "slot": self.snapshot.slot,
            "hash": self.snapshot.hash,
            "recorded_at": self.snapshot.recorded_at,
        }


__all__ = [
    "HttpAnswer",
    "LiveSource",
    "MissingStateError",
    "RpcError",
    "SnapshotSource",
    "StateSource",
    "request_key",
]
