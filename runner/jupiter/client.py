"""Jupiter's HTTP API, through a fork-mode state source (live: recorded; snapshot: replayed).

Endpoints (base URL from JUPITER_API_URL, default https://lite-api.jup.ag):
  GET  /swap/v1/quote?inputMint&outputMint&amount&slippageBps
  POST /swap/v1/swap-instructions {quoteResponse, userPublicKey, wrapAndUnwrapSol}
  POST /lend/v1/earn/{deposit,withdraw}-instructions {asset, signer, amount}
  POST /lend/v1/earn/{mint,redeem}-instructions {asset, signer, shares}
  GET  /lend/v1/earn/positions?users=   GET /lend/v1/earn/earnings?user=&positions=
"""

from __future__ import annotations

from typing import Any

from runner.fork.sources import StateSource

LEND_OPS = {"deposit": "amount", "withdraw": "amount", "mint": "shares", "redeem": "shares"}


class JupiterError(Exception):
    """Jupiter answered with an error (or not at all); str() is one line for the agent."""


class JupiterClient:
    def __init__(self, source: StateSource) -> None:
        self.source = source
        self.calls: list[str] = []  # "METHOD /path" in order (tests and the session trace)

    def _call(self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> Any:
        self.calls.append(f"{method} {path}")
        try:
            answer = self.source.http(method, path, query, body)
        except Exception as exc:  # transport failures and snapshot misses, as one line
            raise JupiterError(f"Jupiter API {method} {path}: {exc}") from None
        if not 200 <= answer.status < 300:
            raise JupiterError(f"Jupiter API {method} {path}: HTTP {answer.status}: {_error_text(answer.body)}")
        return answer.body

    def quote(self, input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> Any:
        query = {"inputMint": input_mint, "outputMint": output_mint, "amount": str(amount),
                 "slippageBps": str(slippage_bps)}
        return self._call("GET", "/swap/v1/quote", query)

    def swap_instructions(self, quote: Any, user: str) -> Any:
        body = {"quoteResponse": quote, "userPublicKey": user, "wrapAndUnwrapSol": True}
        return self._call("POST", "/swap/v1/swap-instructions", None, body)

    def lend_instructions(self, op: str, asset: str, signer: str, value: int) -> Any:
        field = LEND_OPS[op]
        return self._call("POST", f"/lend/v1/earn/{op}-instructions", None,
                          {"asset": asset, "signer": signer, field: str(value)})

    def positions(self, user: str) -> Any:
        return self._call("GET", "/lend/v1/earn/positions", {"users": user})

    def earnings(self, user: str, positions: list[str]) -> Any:
        return self._call("GET", "/lend/v1/earn/earnings", {"user": user, "positions": ",".join(positions)})


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "errorCode"):
            if isinstance(body.get(key), str):
                return str(body[key])[:300]
    return str(body)[:300]
