"""The fake mainnet for a test: a populated fake RPC node plus a fake Jupiter API, both live."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.fakes import mainnet
from tests.fakes.jupiter_api import FakeJupiter
from tests.fakes.rpc_server import FakeRpc

# A flow over real mainnet addresses: a Jupiter swap, then a USDC payment to a token
# account that exists only "on chain" (the fake RPC), at its real-style address.
FORK_BENCHMARK = f"""\
id: fork-swap-then-pay
description: Swap SOL for USDC through Jupiter, then pay a treasury account that exists only on chain.
tags: ["jupiter", "swap", "fork-test"]
initial_state:
  - pubkey: USER_WALLET_PUBKEY
    owner: "11111111111111111111111111111111"
    lamports: 2000000000
  - pubkey: USER_USDC_ATA
    owner: "{mainnet.TOKEN}"
    lamports: 2039280
    data:
      mint: "{mainnet.USDC}"
      owner: USER_WALLET_PUBKEY
      amount: "25000000"
prompt: Swap, then pay the treasury.
flow:
  - step: 1
    prompt: "Using Jupiter, swap 0.1 SOL for USDC."
  - step: 2
    prompt: "Send 5 USDC from my account (USER_USDC_ATA) to the treasury ({mainnet.TREASURY_USDC})."
ground_truth:
  final_state_assertions:
    - type: TokenAccountBalance
      pubkey: USER_USDC_ATA
      expected: 35000000
      weight: 1.0
    - type: TokenAccountBalance
      pubkey: "{mainnet.TREASURY_USDC}"
      expected: {mainnet.TREASURY_USDC_AMOUNT + 5_000_000}
      weight: 1.0
"""


@dataclass
class World:
    rpc: FakeRpc
    jupiter: FakeJupiter

    def stop(self) -> None:
        self.jupiter.stop()
        self.rpc.stop()


@contextmanager
def fake_mainnet() -> Iterator[World]:
    rpc = FakeRpc().start()
    mainnet.populate(rpc)
    jupiter = FakeJupiter(rpc).start()
    world = World(rpc, jupiter)
    try:
        yield world
    finally:
        world.stop()
