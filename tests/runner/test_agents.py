"""The agent registry and the deterministic agent's prompt grammar."""

from __future__ import annotations

import pytest

from runner.agents import AgentError, AgentInput, UnknownAgentError, get_agent
from runner.b58 import b58decode
from runner.programs import MEMO_PROGRAM, SYSTEM_PROGRAM

KEYS = {"USER_WALLET_PUBKEY": "U" * 32, "A": "A" * 32, "B": "B" * 32}


def test_unknown_agent_names_the_known_ones() -> None:
    """Asking for a missing agent lists every registered name."""
    with pytest.raises(UnknownAgentError) as info:
        get_agent("gemini-2.5-flash-lite", {})
    message = str(info.value)
    assert "gemini-2.5-flash-lite" in message
    assert all(name in message for name in ("deterministic", "local", "glm-4.6", "openai:<model>"))


def test_two_sol_transfers_and_a_memo_in_prompt_order() -> None:
    """Transfers keep prompt order and the memo comes last."""
    prompt = 'Send 0.3 SOL to Alice (A) and 0.000000001 SOL to Bob (B) with memo "hi"'
    out = get_agent("deterministic").run(AgentInput(prompt, KEYS, {}))
    assert [ix.program_id for ix in out.instructions] == [SYSTEM_PROGRAM, SYSTEM_PROGRAM, MEMO_PROGRAM]
    assert b58decode(out.instructions[1].data) == (2).to_bytes(4, "little") + (1).to_bytes(8, "little")
    assert b58decode(out.instructions[2].data) == b"hi"


def test_prompt_without_known_action_raises_agent_error() -> None:
    """A prompt outside the grammar is an AgentError, not an empty transaction."""
    with pytest.raises(AgentError):
        get_agent("deterministic").run(AgentInput("Stake with a validator.", KEYS, {}))


def test_too_many_decimals_is_refused() -> None:
    """An amount finer than a lamport cannot be sent exactly."""
    with pytest.raises(AgentError, match="decimals"):
        get_agent("deterministic").run(AgentInput("Send 0.0000000001 SOL to (A)", KEYS, {}))
