"""Well-known program ids and mints, as plain strings (no solders import: the daemon loads this)."""

from __future__ import annotations

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
MEMO_V1_PROGRAM = "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"

TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM, TOKEN_2022_PROGRAM})

# Programs a benchmark may use on the embedded VM (all measured present in solders 0.29's
# LiteSVM). Anything else needs state we do not have.
EMBEDDED_PROGRAMS = frozenset(
    {
        SYSTEM_PROGRAM,
        TOKEN_PROGRAM,
        TOKEN_2022_PROGRAM,
        ASSOCIATED_TOKEN_PROGRAM,
        MEMO_PROGRAM,
        MEMO_V1_PROGRAM,
        COMPUTE_BUDGET_PROGRAM,
    }
)

PROGRAM_NAMES = {
    SYSTEM_PROGRAM: "System",
    TOKEN_PROGRAM: "SPL Token",
    TOKEN_2022_PROGRAM: "Token-2022",
    ASSOCIATED_TOKEN_PROGRAM: "Associated Token Account",
    MEMO_PROGRAM: "Memo",
    MEMO_V1_PROGRAM: "Memo v1",
    COMPUTE_BUDGET_PROGRAM: "Compute Budget",
}

USER_WALLET = "USER_WALLET_PUBKEY"  # upstream's fee payer placeholder

# Mints are synthesized on the embedded VM. Decimals follow the real mint when it is a
# well-known one, else DEFAULT_DECIMALS; env and the deterministic agent share this rule.
WELL_KNOWN_MINT_DECIMALS = {
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v": 6,  # USDC
    "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB": 6,  # USDT
    "So11111111111111111111111111111111111111112": 9,  # wrapped SOL
}
DEFAULT_DECIMALS = 6


def mint_decimals(mint: str) -> int:
    return WELL_KNOWN_MINT_DECIMALS.get(mint, DEFAULT_DECIMALS)
