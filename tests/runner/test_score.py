"""Upstream's scoring formula and the assertion diagnostics, as pure functions."""

from __future__ import annotations

import pytest

from runner.actions import AccountMetaData, RawInstruction
from runner.b58 import b58encode
from runner.benchmark import AddressDerivation, Assertion, ExpectedAccount, ExpectedInstruction, GroundTruth
from runner.score import evaluate_assertions, final_score, instruction_score, is_success

TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
KEYS = {"SRC": "S" * 32, "DST": "D" * 32, "USER": "U" * 32}


def _transfer(data: str = "3mimF1vf45io", program: str = TOKEN) -> RawInstruction:
    return RawInstruction(
        program,
        (
            AccountMetaData(KEYS["SRC"], False, True),
            AccountMetaData(KEYS["DST"], False, True),
            AccountMetaData(KEYS["USER"], True, False),
        ),
        data,
    )


def _expected(
    pw: float = 1.0, aw: float = 1.0, data: str | None = "...", dw: float | None = None
) -> ExpectedInstruction:
    accounts = (
        ExpectedAccount("SRC", False, True, aw),
        ExpectedAccount("DST", False, True, aw),
        ExpectedAccount("USER", True, False, aw),
    )
    return ExpectedInstruction(TOKEN, accounts, pw, data, dw)


def test_perfect_instruction_but_failed_tx_scores_075() -> None:
    """Upstream 003: instruction 1.0, on-chain 0 -> 0.75, and that is not a success."""
    s = final_score(GroundTruth((), (_expected(),)), [_transfer()], KEYS, last_tx_succeeded=False)
    assert (s.score, s.instruction_score, s.onchain_score) == (0.75, 1.0, 0.0)
    assert not is_success(s.score, False)


def test_unmatched_scored_data_gives_upstream_004_partial_score() -> None:
    """Upstream 004: data weight 0.5 of 1.75 lost -> 0.785714, a success."""
    s = final_score(GroundTruth((), (_expected(0.5, 0.25, "3Bxs4vKJW", 0.5),)), [_transfer()], KEYS, True)
    assert s.score == pytest.approx(0.785714, abs=1e-6)
    assert is_success(s.score, True)


def test_matching_scored_data_earns_its_weight() -> None:
    """Data counts when it is not '...' and has a data_weight, compared as bytes."""
    data = b58encode(bytes([3]) + (5).to_bytes(8, "little"))
    assert instruction_score((_expected(data=data, dw=2.0),), [_transfer(data)], KEYS) == 1.0


def test_data_without_weight_is_not_counted() -> None:
    """A data string with no data_weight adds nothing to the total (upstream's Option)."""
    assert instruction_score((_expected(data="4"),), [_transfer()], KEYS) == 1.0


def test_accounts_resolve_through_key_map_and_flags_matter() -> None:
    """A wrong signer flag loses that account's weight; placeholders resolve via key_map."""
    ix = _transfer()
    wrong = RawInstruction(ix.program_id, (*ix.accounts[:2], AccountMetaData(KEYS["USER"], False, False)), ix.data)
    assert instruction_score((_expected(),), [wrong], KEYS) == pytest.approx(3 / 4)


def test_scoring_is_positional_and_extra_instructions_do_not_help() -> None:
    """expected[i] is compared with generated[i]; a missing second instruction earns nothing."""
    expected = (_expected(), _expected())
    assert instruction_score(expected, [_transfer()], KEYS) == pytest.approx(0.5)
    assert instruction_score(expected[:1], [_transfer(program="X" * 32), _transfer()], KEYS) == pytest.approx(3 / 4)


def test_no_expected_instructions_scores_full_instruction_part() -> None:
    """Upstream: nothing to compare against means the agent cannot be wrong."""
    assert instruction_score((), [], KEYS) == 1.0


def test_skip_instruction_validation_scores_by_success_only() -> None:
    """With skip_instruction_validation the score is 1 on success and 0 otherwise."""
    gt = GroundTruth((), (_expected(),), skip_instruction_validation=True)
    assert final_score(gt, [], KEYS, True).score == 1.0
    assert final_score(gt, [_transfer()], KEYS, False).score == 0.0


class _State:
    """A tiny in-memory StateView."""

    def __init__(self) -> None:
        self.lam = {"U" * 32: 900, "R" * 32: 100}
        self.tok = {"A" * 32: 7}

    def resolve(self, name: str) -> str | None:
        return {"USER": "U" * 32, "REC": "R" * 32, "ATA": "A" * 32}.get(name)

    def derive_ata_address(self, owner_name: str, mint: str) -> str:
        return "A" * 32 if owner_name == "REC" else "Z" * 32

    def lamports(self, address: str) -> int:
        return self.lam.get(address, 0)

    def token_amount(self, address: str) -> int | None:
        return self.tok.get(address)

    def initial_lamports_of(self, address: str) -> int:
        return 1000 if address == "U" * 32 else 0


def test_assertions_report_expected_actual_and_passed() -> None:
    """Each kind of assertion reports type, pubkey, expected, actual and passed."""
    mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    results = evaluate_assertions(
        [
            Assertion("SolBalance", "REC", expected=100),
            Assertion("SolBalanceChange", "USER", expected_change_gte=-50),
            Assertion(
                "TokenAccountBalance",
                "X",
                expected_gte=5,
                address_derivation=AddressDerivation("AssociatedTokenAccount", "REC", mint),
            ),
            Assertion("TokenAccountBalance", "ATA", expected=8),
            Assertion(
                "TokenAccountBalance",
                "Y",
                expected=0,
                address_derivation=AddressDerivation("AssociatedTokenAccount", "NOBODY", mint),
            ),
        ],
        _State(),
    )
    assert [(r["actual"], r["passed"]) for r in results] == [
        (100, True),
        (-100, False),
        (7, True),
        (7, False),
        (None, True),
    ]
    assert set(results[0]) >= {"type", "pubkey", "expected", "actual", "passed"}
