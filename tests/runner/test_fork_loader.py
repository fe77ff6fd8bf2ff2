"""The fork loader on its own: what it writes into LiteSVM from a (fake) RPC node, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from runner.fork.loader import Forker, ForkError, tables_from_vm
from runner.fork.rpc import RpcClient
from runner.fork.snapshot import Snapshot
from runner.fork.sources import LiveSource, MissingStateError, SnapshotSource
from tests.fakes import mainnet as m
from tests.fakes.rpc_server import FakeRpc


@pytest.fixture
def rpc() -> Any:
    with FakeRpc() as server:
        m.populate(server)
        yield server


def _forker(rpc: FakeRpc) -> tuple[LiteSVM, Forker]:
    svm = LiteSVM()
    return svm, Forker(svm, LiveSource(RpcClient(rpc.url)))


def _invoke(svm: LiteSVM, program: str) -> list[str]:
    kp = Keypair()
    svm.airdrop(kp.pubkey(), 10**9)
    ix = Instruction(Pubkey.from_string(program), b"hello", [AccountMeta(kp.pubkey(), True, False)])
    out = svm.send_transaction(Transaction.new_signed_with_payer([ix], kp.pubkey(), [kp], svm.latest_blockhash()))
    return list(out.logs()) if hasattr(out, "logs") else list(out.meta().logs())


def test_upgradeable_program_runs_after_loading(rpc: FakeRpc) -> None:
    """Program + program-data from RPC: the ELF runs at the program's real address."""
    svm, forker = _forker(rpc)
    forker.ensure([m.JUPITER_LEND])
    assert "Program log: Memo (len 5)" in _invoke(svm, m.JUPITER_LEND)
    assert len(rpc.calls) == 2  # the program, then its program data (not named up front here)


def test_loader_v2_program_runs(rpc: FakeRpc) -> None:
    """A program owned by BPFLoader2 (ELF in the account itself) is written as it is and runs."""
    address = str(Keypair().pubkey())
    rpc.add(address, "BPFLoader2111111111111111111111111111111111", 10**9, m.memo_elf(), executable=True)
    svm, forker = _forker(rpc)
    forker.ensure([address])
    assert f"Program {address} success" in _invoke(svm, address)


def test_program_data_without_elf_is_refused(rpc: FakeRpc) -> None:
    """An upgradeable program whose program data holds no ELF is an error naming the program."""
    program = str(Keypair().pubkey())
    pdata, prog, programdata = m.program_accounts(program, b"not an elf")
    rpc.add(program, m.UPGRADEABLE_LOADER, 1, prog, executable=True)
    rpc.add(pdata, m.UPGRADEABLE_LOADER, 1, programdata)
    with pytest.raises(ForkError, match=f"program {program}: program data at {pdata} holds no ELF"):
        _forker(rpc)[1].ensure([program])


def test_missing_program_data_is_refused(rpc: FakeRpc) -> None:
    """A program account pointing at program data that does not exist is an error naming both."""
    program = str(Keypair().pubkey())
    pdata, prog, _ = m.program_accounts(program, b"")
    rpc.add(program, m.UPGRADEABLE_LOADER, 1, prog, executable=True)
    with pytest.raises(ForkError, match=f"program {program}: its program-data account {pdata} does not exist"):
        _forker(rpc)[1].ensure([program])


def test_lookup_table_is_read_from_the_fetched_account(rpc: FakeRpc) -> None:
    """A lookup table fetched over RPC decodes into the addresses the fake node stored."""
    svm, forker = _forker(rpc)
    forker.ensure([m.LOOKUP_TABLE])
    (table,) = tables_from_vm(svm, [m.LOOKUP_TABLE])
    assert [str(a) for a in table.addresses] == [m.USDC, m.WSOL, m.TOKEN, m.SYSTEM, m.ATA_PROGRAM]
    with pytest.raises(ForkError, match=f"address lookup table {m.USDC} is owned by {m.TOKEN}"):
        forker.ensure([m.USDC])
        tables_from_vm(svm, [m.USDC])


def test_clock_and_absent_accounts(rpc: FakeRpc) -> None:
    """The fetched Clock becomes the VM's; an absent account is asked for once only."""
    svm, forker = _forker(rpc)
    nobody = str(Keypair().pubkey())
    forker.ensure([nobody], also=[m.CLOCK])
    forker.ensure([nobody])
    assert svm.get_clock().slot == m.SLOT and svm.get_clock().unix_timestamp == m.UNIX_TIME
    assert rpc.keys_asked.count(nobody) == 1


def test_snapshot_source_names_a_missing_api_answer() -> None:
    """A request the snapshot has no answer for is an error quoting the request."""
    source = SnapshotSource(Snapshot("b", bytes(32), source="b.json.gz"))
    with pytest.raises(MissingStateError, match=r"no recorded answer for GET /swap/v1/quote\?amount=1"):
        source.http("GET", "/swap/v1/quote", {"amount": "1"})
