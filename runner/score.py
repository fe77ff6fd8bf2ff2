"""Upstream reev's score, and diagnostics for final_state_assertions. Pure functions.

final = 0.75 x instruction score + 0.25 x on-chain score, where the instruction score is
weighted and positional (expected[i] vs generated[i]; extra or missing instructions just
leave weight unearned) and resolved through the initial key_map; the on-chain score is 1
when the last transaction succeeded. With skip_instruction_validation the score is 1 or 0
by success. Assertions never change the score (upstream ignores them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from runner.actions import AccountMetaData, RawInstruction
from runner.b58 import b58decode
from runner.benchmark import Assertion, ExpectedAccount, ExpectedInstruction, GroundTruth

INSTRUCTION_WEIGHT = 0.75
ONCHAIN_WEIGHT = 0.25
PASS_THRESHOLD = 0.75  # success needs the last tx to succeed AND at least this score


@dataclass(frozen=True)
class Score:
    score: float
    instruction_score: float
    onchain_score: float


def instruction_score(
    expected: Sequence[ExpectedInstruction], generated: Sequence[RawInstruction], key_map: Mapping[str, str]
) -> float:
    if not expected:
        return 1.0  # nothing to compare against
    total = sum(
        ix.program_id_weight + ((ix.data_weight or 0.0) if ix.data_scored else 0.0) + sum(a.weight for a in ix.accounts)
        for ix in expected
    )
    if total == 0.0:
        return 1.0
    achieved = sum(
        _score_one(e, g, key_map) for e, g in zip(expected, generated, strict=False)
    )  # positional; extras ignored
    return achieved / total


def _score_one(expected: ExpectedInstruction, generated: RawInstruction, key_map: Mapping[str, str]) -> float:
    score = 0.0
    if expected.program_id == generated.program_id:
        score += expected.program_id_weight
    if expected.data_scored:
        assert expected.data is not None and expected.data_weight is not None
        try:
            if b58decode(expected.data) == b58decode(generated.data):
                score += expected.data_weight
        except ValueError:
            pass  # undecodable data never matches (upstream logs and moves on)
    for e, g in zip(expected.accounts, generated.accounts, strict=False):
        if _account_matches(e, g, key_map):
            score += e.weight
    return score


def _account_matches(e: ExpectedAccount, g: AccountMetaData, key_map: Mapping[str, str]) -> bool:
    return key_map.get(e.pubkey, e.pubkey) == g.pubkey and e.is_signer == g.is_signer and e.is_writable == g.is_writable


def final_score(
    ground_truth: GroundTruth, generated: Sequence[RawInstruction], key_map: Mapping[str, str], last_tx_succeeded: bool
) -> Score:
    onchain = 1.0 if last_tx_succeeded else 0.0
    if ground_truth.skip_instruction_validation:
        return Score(onchain, onchain, onchain)
    ins = instruction_score(ground_truth.expected_instructions, generated, key_map)
    return Score(INSTRUCTION_WEIGHT * ins + ONCHAIN_WEIGHT * onchain, ins, onchain)


def is_success(score: float, last_tx_succeeded: bool) -> bool:
    # Tolerance: 0.75 computed from weights must not fall just below the threshold.
    return last_tx_succeeded and score >= PASS_THRESHOLD - 1e-9


# ----------------------------------------------------------------- assertions


class StateView(Protocol):
    """Read access to the final chain state (SolanaEnv implements it)."""

    def resolve(self, name: str) -> str | None: ...
    def derive_ata_address(self, owner_name: str, mint: str) -> str: ...
    def lamports(self, address: str) -> int: ...
    def token_amount(self, address: str) -> int | None: ...
    def initial_lamports_of(self, address: str) -> int: ...


def evaluate_assertions(assertions: Sequence[Assertion], state: StateView) -> list[dict[str, Any]]:
    """Each assertion as {type, pubkey, comparison, expected, actual, passed}."""
    return [_evaluate(a, state) for a in assertions]


def _evaluate(a: Assertion, state: StateView) -> dict[str, Any]:
    if a.address_derivation is not None:
        address: str | None = state.derive_ata_address(a.address_derivation.owner, a.address_derivation.mint)
    else:
        address = state.resolve(a.pubkey)
    actual: int | None
    if a.type == "SolBalance":
        comparison, expected = "==", a.expected
        actual = state.lamports(address) if address else None
    elif a.type == "SolBalanceChange":
        comparison, expected = "change >=", a.expected_change_gte
        actual = state.lamports(address) - state.initial_lamports_of(address) if address else None
    else:  # TokenAccountBalance
        if a.expected is not None:
            comparison, expected = "==", a.expected
        else:
            comparison, expected = ">=", a.expected_gte
        actual = state.token_amount(address) if address else None
    if actual is None:
        # A token account that does not exist holds nothing: only "== 0" can hold.
        passed = comparison == "==" and expected == 0 and a.type == "TokenAccountBalance"
    elif comparison == "==":
        passed = actual == expected
    else:
        passed = expected is not None and actual >= expected
    return {
        "type": a.type,
        "pubkey": a.pubkey,
        "comparison": comparison,
        "expected": expected,
        "actual": actual,
        "passed": passed,
    }
