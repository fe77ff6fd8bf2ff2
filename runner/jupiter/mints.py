"""Token symbols the Jupiter prompts and tools use, and their mainnet mints."""

from __future__ import annotations

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
JL_USDC = "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"  # Jupiter Lend USDC share token (upstream's YAML)
JL_SOL = "2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU"  # Jupiter Lend SOL share token (upstream's YAML)

# symbol (upper case) -> (mint, decimals)
SYMBOLS: dict[str, tuple[str, int]] = {
    "SOL": (WSOL, 9),
    "WSOL": (WSOL, 9),
    "USDC": (USDC, 6),
    "USDT": (USDT, 6),
    "JUSDC": (JL_USDC, 6),
    "JLUSDC": (JL_USDC, 6),
    "L-USDC": (JL_USDC, 6),
    "JSOL": (JL_SOL, 9),
    "JLSOL": (JL_SOL, 9),
    "L-SOL": (JL_SOL, 9),
}
# A lend share token -> the asset it is a share of.
SHARE_ASSET = {JL_USDC: USDC, JL_SOL: WSOL}
