"""A fake Solana JSON-RPC node: getMultipleAccounts over accounts the test builds, with faults.

Speaks the real wire format (POST JSON-RPC 2.0; base64 account data; context.slot) and
counts every call and key, so tests can check batching. Faults, set on `fault`:
  "429"            the next `fault_count` calls answer 429 with Retry-After: `retry_after`
  "truncated"      the body is cut in half (valid Content-Length, invalid JSON)
  "wrong_encoding" account data is labelled base58
  "hang"           never answers (the client's timeout must fire)
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import ThreadedServer

MAX_KEYS = 100  # public nodes refuse more


@dataclass
class FakeAccount:
    owner: str
    lamports: int
    data: bytes
    executable: bool = False


class FakeRpc(ThreadedServer):
    def __init__(self, slot: int = 380_000_000) -> None:
        super().__init__()
        self.slot = slot
        self.accounts: dict[str, FakeAccount] = {}
        self.calls: list[list[str]] = []  # keys asked, per call (faulted calls included)
        self.call_times: list[float] = []
        self.fault: str | None = None
        self.fault_count = 0
        self.retry_after = "0.2"
        self.app.router.add_post("/", self._handle)

    def add(self, address: str, owner: str, lamports: int, data: bytes = b"", executable: bool = False) -> None:
        self.accounts[address] = FakeAccount(owner, lamports, data, executable)

    @property
    def keys_asked(self) -> list[str]:
        return [k for call in self.calls for k in call]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.call_times.append(time.monotonic())
        body = await request.json()
        if body.get("method") != "getMultipleAccounts":
            return web.json_response({"jsonrpc": "2.0", "id": body.get("id"),
                                      "error": {"code": -32601, "message": "Method not found"}})
        keys, config = body["params"][0], body["params"][1]
        self.calls.append(list(keys))
        if self.fault == "hang":
            await asyncio.sleep(3600)
        if self.fault == "429" and self.fault_count > 0:
            self.fault_count -= 1
            return web.json_response({"jsonrpc": "2.0", "error": {"code": 429, "message": "Too many requests"}},
                                     status=429, headers={"Retry-After": self.retry_after})
        if len(keys) > MAX_KEYS:
            return web.json_response({"jsonrpc": "2.0", "id": body.get("id"),
                                      "error": {"code": -32602, "message": f"Too many inputs provided; max {MAX_KEYS}"}})
        assert config.get("encoding") == "base64", config
        encoding = "base58" if self.fault == "wrong_encoding" else "base64"
        value: list[Any] = []
        for k in keys:
            a = self.accounts.get(k)
            value.append(None if a is None else {
                "data": [base64.b64encode(a.data).decode(), encoding], "executable": a.executable,
                "lamports": a.lamports, "owner": a.owner, "rentEpoch": 18446744073709551615, "space": len(a.data),
            })
        answer = json.dumps({"jsonrpc": "2.0", "result": {"context": {"apiVersion": "2.2.0", "slot": self.slot},
                                                           "value": value}, "id": body.get("id")})
        if self.fault == "truncated":
            answer = answer[: len(answer) // 2]
        return web.Response(text=answer, content_type="application/json")
