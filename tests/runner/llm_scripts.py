"""Scripted model turns that solve each project benchmark with reev's tools (placeholders as arguments)."""

from __future__ import annotations

from tests.fakes.openai_server import Call, Turn, calls, text

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
RVT = "GmaDrppBC7P5ARKV8g3djiwP89vz1jLK23V2GBjuAEGB"
USER = "USER_WALLET_PUBKEY"


def sol(to: str, lamports: int) -> Call:
    return Call("sol_transfer", {"user_pubkey": USER, "recipient_pubkey": to, "amount": lamports, "operation": "sol", "mint_address": None})


def spl(to: str, amount: int, mint: str = USDC, owner: str = USER) -> Call:
    return Call("spl_transfer", {"user_pubkey": owner, "recipient_pubkey": to, "amount": amount, "mint_address": mint})


def _solve(*items: Call) -> list[Turn]:
    return [calls(*items), text("Done: the transaction is built.")]


SOLUTIONS: dict[str, list[Turn]] = {
    "001-sol-transfer": _solve(sol("RECIPIENT_WALLET_PUBKEY", 100_000_000)),
    "002-spl-transfer": _solve(spl("RECIPIENT_USDC_ATA", 12_000_000)),
    "003-spl-transfer-fail": _solve(spl("RECIPIENT_USDC_ATA", 20_000_000)),
    "004-partial-score-spl-transfer": _solve(spl("RECIPIENT_USDC_ATA", 4_000_000)),
    "005-spl-transfer-create-recipient-ata": _solve(
        Call("create_associated_token_account", {"user_pubkey": USER, "owner_pubkey": "RECIPIENT_WALLET_PUBKEY", "mint_address": USDC}),
        spl("RECIPIENT_USDC_ATA", 7_000_000),
    ),
    "006-sol-transfer-with-memo": _solve(
        sol("LANDLORD_WALLET_PUBKEY", 250_000_000), Call("memo", {"memo": "March rent, flat 4B", "user_pubkey": None})
    ),
    "007-two-sol-transfers": _solve(sol("ALICE_WALLET_PUBKEY", 300_000_000), sol("BOB_WALLET_PUBKEY", 200_000_000)),
    "008-sol-transfer-insufficient-funds": _solve(sol("RECIPIENT_WALLET_PUBKEY", 2_000_000_000)),
    "009-spl-transfer-missing-signer": _solve(spl("USER_USDC_ATA", 5_000_000, owner="TREASURY_WALLET_PUBKEY")),
    "010-token-2022-transfer": _solve(spl("RECIPIENT_RVT_ATA", 2_500_000, mint=RVT)),
    # A flow: each step is a fresh conversation, so the script runs in order across both.
    "011-flow-sol-then-usdc": [
        *_solve(sol("RECIPIENT_WALLET_PUBKEY", 50_000_000)),
        *_solve(spl("RECIPIENT_USDC_ATA", 3_000_000)),
    ],
}
