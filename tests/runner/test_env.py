"""The embedded VM set-up: placeholders, funding, token accounts, mints, observations."""

from __future__ import annotations

from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint

from runner.actions import AccountMetaData, RawInstruction
from runner.b58 import b58encode, is_pubkey
from runner.benchmark import load_benchmark_file
from runner.env import SolanaEnv
from runner.programs import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM
from tests.runner.conftest import BENCHMARKS


def _env(name: str) -> SolanaEnv:
    return SolanaEnv(load_benchmark_file(BENCHMARKS / name))


def test_placeholders_get_fresh_distinct_keys_each_run() -> None:
    """Non-base58 names resolve to new keys per environment; real keys map to themselves."""
    a, b = _env("001-sol-transfer.yml"), _env("001-sol-transfer.yml")
    assert a.key_map["USER_WALLET_PUBKEY"] != b.key_map["USER_WALLET_PUBKEY"]
    assert a.key_map["USER_WALLET_PUBKEY"] != a.key_map["RECIPIENT_WALLET_PUBKEY"]
    assert all(is_pubkey(v) for v in a.key_map.values())
    assert a.key_map[SYSTEM_PROGRAM] == SYSTEM_PROGRAM


def test_only_the_user_wallet_is_funded() -> None:
    """The fee payer holds its lamports; other wallets are not created (upstream semantics)."""
    env = _env("002-spl-transfer.yml")
    assert env.lamports(env.key_map["USER_WALLET_PUBKEY"]) == 1_000_000_000
    assert "RECIPIENT_WALLET_PUBKEY" not in env.account_states()


def test_token_accounts_sit_at_the_owner_ata_with_amount() -> None:
    """USER_USDC_ATA resolves to ATA(user, USDC) and holds the YAML amount; the mint is synthesized."""
    env = _env("002-spl-transfer.yml")
    user = Pubkey.from_string(env.key_map["USER_WALLET_PUBKEY"])
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    assert env.key_map["USER_USDC_ATA"] == str(get_associated_token_address(user, usdc))
    assert env.token_amount(env.key_map["USER_USDC_ATA"]) == 40_000_000
    mint_account = env.svm.get_account(usdc)
    assert mint_account is not None and len(mint_account.data) == 82
    assert Mint.from_bytes(bytes(mint_account.data)).decimals == 6


def test_token_2022_accounts_use_the_token_2022_ata() -> None:
    """A Token-2022 account is derived with the Token-2022 program id and owned by it."""
    env = _env("010-token-2022-transfer.yml")
    user = Pubkey.from_string(env.key_map["USER_WALLET_PUBKEY"])
    mint = Pubkey.from_string("GmaDrppBC7P5ARKV8g3djiwP89vz1jLK23V2GBjuAEGB")
    expected = get_associated_token_address(user, mint, Pubkey.from_string(TOKEN_2022_PROGRAM))
    assert env.key_map["USER_RVT_ATA"] == str(expected)
    assert env.account_states()["USER_RVT_ATA"]["owner"] == TOKEN_2022_PROGRAM


def test_derived_assertion_placeholder_is_in_the_key_map() -> None:
    """An ATA named only by an address_derivation assertion is resolved up front."""
    env = _env("005-spl-transfer-create-recipient-ata.yml")
    assert env.key_map["RECIPIENT_USDC_ATA"] == env.derive_ata_address(
        "RECIPIENT_WALLET_PUBKEY", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    )


def test_observation_has_the_upstream_shape() -> None:
    """Observation keys and per-account fields match upstream's captured session."""
    obs = _env("002-spl-transfer.yml").observation()
    assert set(obs) == {
        "account_states",
        "key_map",
        "last_transaction_error",
        "last_transaction_logs",
        "last_transaction_status",
    }
    assert obs["last_transaction_status"] == "Success"
    assert set(obs["account_states"]["USER_WALLET_PUBKEY"]) == {"lamports", "owner", "executable", "data_len"}
    token = obs["account_states"]["USER_USDC_ATA"]
    assert token["amount"] == "40000000" and token["token_account_owner"] == obs["key_map"]["USER_WALLET_PUBKEY"]


def test_failing_transaction_is_not_sent_and_charges_no_fee() -> None:
    """A transfer that fails simulation leaves every balance, fees included, untouched."""
    env = _env("008-sol-transfer-insufficient-funds.yml")
    user, rec = env.key_map["USER_WALLET_PUBKEY"], env.key_map["RECIPIENT_WALLET_PUBKEY"]
    data = b58encode((2).to_bytes(4, "little") + (2_000_000_000).to_bytes(8, "little"))
    ix = RawInstruction(SYSTEM_PROGRAM, (AccountMetaData(user, True, True), AccountMetaData(rec, False, True)), data)
    outcome = env.execute([ix])
    assert outcome.status == "Failure" and outcome.error == "Error processing Instruction 0: custom program error: 0x1"
    assert env.lamports(user) == 500_000_000 and outcome.logs


def test_malformed_instruction_is_a_failure_not_a_crash() -> None:
    """Bad base58 in an agent's instruction becomes a Failure observation."""
    env = _env("001-sol-transfer.yml")
    outcome = env.execute([RawInstruction("not-a-key", (), "")])
    assert outcome.status == "Failure" and outcome.error is not None and "invalid instruction" in outcome.error
