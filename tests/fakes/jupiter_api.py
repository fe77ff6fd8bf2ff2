"""A fake Jupiter HTTP API (quote, swap-instructions, lend earn *-instructions, positions, earnings).

Answers have Jupiter's wire shapes. Instructions are real ones the VM can execute: the value
moves through SPL Token accounts that the fake adds to the fake RPC node *while answering*
(a pool account delegating the amount to the user, so the user can sign the transfer), then a
memo-program call at Jupiter's program id (see mainnet.py). So the swap delivers USDC and a
deposit delivers share tokens on the VM; prices are fixed (1 SOL = 150 USDC, shares 1:1).
Every request is recorded. Set `fail = (status, body)` to answer every route with an error.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from aiohttp import web
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

from tests.fakes import mainnet as m
from tests.fakes.rpc_server import FakeRpc
from tests.fakes.server import ThreadedServer

USDC_PER_SOL = 150
SHARE_OF = {m.USDC: m.JL_USDC, m.WSOL: m.JL_SOL}


def ix(program: str, accounts: list[tuple[str, bool, bool]], data: bytes) -> dict[str, Any]:
    return {"programId": program, "accounts": [{"pubkey": p, "isSigner": s, "isWritable": w} for p, s, w in accounts],
            "data": base64.b64encode(data).decode()}


def ata(owner: str, mint: str) -> str:
    return str(get_associated_token_address(Pubkey.from_string(owner), Pubkey.from_string(mint)))


class FakeJupiter(ThreadedServer):
    def __init__(self, rpc: FakeRpc) -> None:
        super().__init__()
        self.rpc = rpc
        self.requests: list[dict[str, Any]] = []
        self.fail: tuple[int, Any] | None = None
        r = self.app.router
        r.add_get("/swap/v1/quote", self._quote)
        r.add_post("/swap/v1/swap-instructions", self._swap_instructions)
        r.add_post("/lend/v1/earn/{op}-instructions", self._lend)
        r.add_get("/lend/v1/earn/positions", self._positions)
        r.add_get("/lend/v1/earn/earnings", self._earnings)

    async def _record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query), "body": body})
        return body

    def _failure(self) -> web.Response | None:
        if self.fail is None:
            return None
        return web.json_response(self.fail[1], status=self.fail[0])

    # -- instructions the VM can run ---------------------------------------------------

    def _pool(self, mint: str, amount: int, delegate: str) -> str:
        """A fresh token account of `mint` holding `amount`, delegated to `delegate`, served by the RPC."""
        address = str(Keypair().pubkey())
        if mint == m.WSOL:
            self.rpc.add(address, m.TOKEN, m.TOKEN_ACCOUNT_RENT + amount,
                         m.token_bytes(mint, m.POOL_AUTHORITY, amount, delegate, m.TOKEN_ACCOUNT_RENT))
        else:
            self.rpc.add(address, m.TOKEN, m.TOKEN_ACCOUNT_RENT, m.token_bytes(mint, m.POOL_AUTHORITY, amount, delegate))
        return address

    @staticmethod
    def _create_ata(user: str, mint: str) -> dict[str, Any]:
        return ix(m.ATA_PROGRAM, [(user, True, True), (ata(user, mint), False, True), (user, False, False),
                                  (mint, False, False), (m.SYSTEM, False, False), (m.TOKEN, False, False)], bytes([1]))

    @staticmethod
    def _transfer(src: str, dst: str, authority: str, amount: int) -> dict[str, Any]:
        return ix(m.TOKEN, [(src, False, True), (dst, False, True), (authority, True, False)], struct.pack("<BQ", 3, amount))

    @staticmethod
    def _sol_transfer(src: str, dst: str, lamports: int) -> dict[str, Any]:
        return ix(m.SYSTEM, [(src, True, True), (dst, False, True)], struct.pack("<IQ", 2, lamports))

    def _receive(self, user: str, mint: str, amount: int) -> list[dict[str, Any]]:
        """Instructions that put `amount` of `mint` into the user's hands (lamports for wSOL)."""
        out = [self._create_ata(user, mint), self._transfer(self._pool(mint, amount, user), ata(user, mint), user, amount)]
        if mint == m.WSOL:  # unwrap: close the user's wSOL account into the wallet
            out.append(ix(m.TOKEN, [(ata(user, mint), False, True), (user, False, True), (user, True, False)], bytes([9])))
        return out

    def _pay(self, user: str, mint: str, amount: int) -> dict[str, Any]:
        if mint == m.WSOL:
            return self._sol_transfer(user, m.POOL_AUTHORITY, amount)
        return self._transfer(ata(user, mint), ata(m.POOL_AUTHORITY, mint), user, amount)

    # -- routes ------------------------------------------------------------------------

    async def _quote(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._failure()) is not None:
            return err
        q = request.query
        amount = int(q["amount"])
        if q["inputMint"] == m.WSOL and q["outputMint"] == m.USDC:
            out = amount * USDC_PER_SOL // 1000
        else:
            return web.json_response({"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"}, status=400)
        return web.json_response({
            "inputMint": q["inputMint"], "inAmount": str(amount), "outputMint": q["outputMint"], "outAmount": str(out),
            "otherAmountThreshold": str(out * (10000 - int(q.get("slippageBps", "50"))) // 10000), "swapMode": "ExactIn",
            "slippageBps": int(q.get("slippageBps", "50")), "priceImpactPct": "0",
            "routePlan": [{"swapInfo": {"label": "FakeAMM", "inputMint": q["inputMint"], "outputMint": q["outputMint"],
                                        "inAmount": str(amount), "outAmount": str(out)}, "percent": 100}],
            "contextSlot": m.SLOT,
        })

    async def _swap_instructions(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if (err := self._failure()) is not None:
            return err
        user = body["userPublicKey"]
        quote = body["quoteResponse"]
        in_amount, out_amount = int(quote["inAmount"]), int(quote["outAmount"])
        receive = self._receive(user, quote["outputMint"], out_amount)
        return web.json_response({
            "tokenLedgerInstruction": None,
            "computeBudgetInstructions": [ix("ComputeBudget111111111111111111111111111111", [], struct.pack("<BI", 2, 400_000))],
            "setupInstructions": [self._pay(user, quote["inputMint"], in_amount), *receive],
            "swapInstruction": ix(m.JUPITER_SWAP, [(user, True, True)], b"fake route: FakeAMM"),
            "cleanupInstruction": None,
            "otherInstructions": [],
            "addressLookupTableAddresses": [m.LOOKUP_TABLE],
            "prioritizationFeeLamports": 0,
        })

    async def _lend(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if (err := self._failure()) is not None:
            return err
        op = request.match_info["op"]
        user, asset = body["signer"], body["asset"]
        share = SHARE_OF.get(asset)
        if share is None:
            return web.json_response({"error": f"asset {asset} is not supported"}, status=400)
        value = int(body["amount"] if op in ("deposit", "withdraw") else body["shares"])
        if op in ("deposit", "mint"):
            ixs = [self._pay(user, asset, value), *self._receive(user, share, value)]
        else:
            ixs = [self._transfer(ata(user, share), self._pool(share, 0, user), user, value), *self._receive(user, asset, value)]
        ixs.append(ix(m.JUPITER_LEND, [(user, True, False)], f"fake lend {op}".encode()))
        return web.json_response({"instructions": ixs})

    async def _positions(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._failure()) is not None:
            return err
        user = request.query["users"]
        return web.json_response([{
            "token": {"address": m.JL_USDC, "symbol": "jlUSDC", "assetAddress": m.USDC, "decimals": 6},
            "ownerAddress": user, "shares": "0", "underlyingAssets": "0", "underlyingBalance": "0",
            "allowance": "0", "address": str(Pubkey.find_program_address([b"position", bytes(Pubkey.from_string(user))],
                                                                        Pubkey.from_string(m.JUPITER_LEND))[0]),
        }])

    async def _earnings(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (err := self._failure()) is not None:
            return err
        return web.json_response({"address": request.query.get("positions", ""), "ownerAddress": request.query["user"],
                                  "totalDeposits": "0", "totalWithdraws": "0", "totalBalance": "0", "earnings": "0",
                                  "slot": m.SLOT})
