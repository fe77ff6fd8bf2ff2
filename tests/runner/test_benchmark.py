"""YAML loading, validation errors and the mainnet rule of runner.benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.benchmark import MAX_FILE_BYTES, BenchmarkError, load_benchmark_file, load_benchmark_text
from tests.runner.conftest import BENCHMARKS, PROJECT_EXPECTED, ROOT

MINIMAL = """\
id: t-1
description: d
tags: [a]
initial_state:
  - pubkey: USER_WALLET_PUBKEY
    owner: "11111111111111111111111111111111"
    lamports: 1000
prompt: "Send 0.1 SOL to the recipient (R)."
ground_truth:
  final_state_assertions: []
  expected_instructions:
    - program_id: "11111111111111111111111111111111"
      accounts:
        - pubkey: USER_WALLET_PUBKEY
          is_signer: true
          is_writable: true
      data: "..."
"""


def _error(text: str) -> BenchmarkError:
    with pytest.raises(BenchmarkError) as info:
        load_benchmark_text(text, "x.yml")
    return info.value


def test_minimal_benchmark_loads_with_upstream_defaults() -> None:
    """Omitted weights default to 1.0 and data '...' is not scored."""
    b = load_benchmark_text(MINIMAL, "x.yml")
    ix = b.ground_truth.expected_instructions[0]
    assert (ix.program_id_weight, ix.accounts[0].weight, ix.data_scored) == (1.0, 1.0, False)
    assert b.step_prompts == (b.prompt,)


def test_unknown_keys_are_ignored() -> None:
    """Extra keys such as min_score or success_criteria do not fail loading."""
    text = MINIMAL.replace("ground_truth:\n", "ground_truth:\n  min_score: 0.6\n  success_criteria: [{a: 1}]\n")
    assert load_benchmark_text(text + "extra_top: 1\n", "x.yml").id == "t-1"


def test_missing_field_is_named_with_its_path() -> None:
    """A missing program_id names file, list index and field in one line."""
    err = _error(
        MINIMAL.replace('    - program_id: "11111111111111111111111111111111"\n      accounts:', "    - accounts:")
    )
    assert str(err) == "x.yml: ground_truth.expected_instructions[0].program_id: missing required field"
    assert (err.source, err.field) == ("x.yml", "ground_truth.expected_instructions[0].program_id")


def test_mistyped_field_is_named() -> None:
    """A string where an integer belongs names the field and both kinds."""
    err = _error(MINIMAL.replace("lamports: 1000", "lamports: lots"))
    assert err.field == "initial_state[0].lamports"
    assert "expected an integer" in str(err)


def test_mistyped_boolean_is_named() -> None:
    """is_signer must be a YAML boolean."""
    err = _error(MINIMAL.replace("is_signer: true", "is_signer: 1"))
    assert err.field == "ground_truth.expected_instructions[0].accounts[0].is_signer"


def test_unknown_assertion_type_is_an_error() -> None:
    """Assertion types outside upstream's three are rejected by name."""
    text = MINIMAL.replace("final_state_assertions: []", "final_state_assertions:\n    - {type: Teleport, pubkey: X}")
    err = _error(text)
    assert err.field == "ground_truth.final_state_assertions[0].type" and "Teleport" in err.message


def test_non_mapping_document_is_rejected() -> None:
    """A YAML list at the top level is not a benchmark."""
    assert "expected a YAML mapping" in str(_error("- 1\n- 2\n"))


def test_invalid_yaml_names_the_line() -> None:
    """A syntax error reports the line number instead of a traceback."""
    err = _error("id: x\nprompt: [unclosed\n")
    assert err.field.startswith("line ") and "invalid YAML" in err.message


def test_missing_fee_payer_is_an_error() -> None:
    """Upstream cannot run a benchmark without USER_WALLET_PUBKEY; neither do we."""
    err = _error(MINIMAL.replace("USER_WALLET_PUBKEY\n    owner", "SOMEONE\n    owner"))
    assert err.field == "initial_state"


def test_unsafe_id_is_rejected() -> None:
    """Benchmark ids become parts of file names, so they must be safe tokens."""
    assert _error(MINIMAL.replace("id: t-1", "id: ../evil")).field == "id"


def test_file_size_is_capped(tmp_path: Path) -> None:
    """Files above 256 KiB are refused before parsing."""
    big = tmp_path / "big.yml"
    big.write_text(MINIMAL + "#" * MAX_FILE_BYTES)
    with pytest.raises(BenchmarkError, match="limit"):
        load_benchmark_file(big)


def test_token_amount_accepts_upstream_string_form() -> None:
    """Token amounts are strings upstream; they load as integers."""
    text = MINIMAL.replace(
        "prompt:",
        "  - pubkey: USER_USDC_ATA\n    owner: TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA\n    lamports: 2039280\n"
        '    data: {mint: EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v, owner: USER_WALLET_PUBKEY, amount: "42"}\nprompt:',
    )
    b = load_benchmark_text(text, "x.yml")
    assert b.initial_state[1].data is not None and b.initial_state[1].data.amount == 42


def test_mainnet_reason_for_unloaded_program() -> None:
    """An expected instruction for a program the VM does not load is refused."""
    text = MINIMAL.replace(
        '- program_id: "11111111111111111111111111111111"',
        '- program_id: "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"',
    )
    reason = load_benchmark_text(text, "x.yml").mainnet_reason()
    assert reason is not None and "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4" in reason


def test_mainnet_reason_for_protocol_mint() -> None:
    """An assertion on a mint nobody holds at the start needs the protocol that issues it."""
    text = MINIMAL.replace(
        "final_state_assertions: []",
        "final_state_assertions:\n    - type: TokenAccountBalance\n      pubkey: P\n      expected_gte: 1\n"
        "      address_derivation: {type: AssociatedTokenAccount, owner: USER_WALLET_PUBKEY,"
        " mint: 9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D}",
    )
    reason = load_benchmark_text(text, "x.yml").mainnet_reason()
    assert reason is not None and "issued by a protocol" in reason


def test_project_benchmarks_load_and_are_runnable() -> None:
    """Every file in benchmarks/ loads and runs on the embedded VM."""
    files = sorted(BENCHMARKS.glob("*.yml"))
    assert len(files) >= 8
    loaded = {load_benchmark_file(f).id: load_benchmark_file(f) for f in files}
    assert set(loaded) == set(PROJECT_EXPECTED)
    assert all(b.mainnet_reason() is None for b in loaded.values())


def test_benchmark_module_is_import_light() -> None:
    """Importing runner.benchmark (the daemon does) must not import solders or yaml."""
    code = "import sys, runner.benchmark; print(sorted(m for m in sys.modules if m.split('.')[0] in ('solders', 'yaml', 'structlog')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
