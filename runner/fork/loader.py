"""Writes fetched accounts into LiteSVM, fetching only what the VM does not already have.

- Plain accounts are written as they are.
- Upgradeable BPF programs: the program account only points at its program-data account
  (loader state 2 + address); that one holds loader state 3, the deploy slot, the upgrade
  authority and the ELF from byte 45. We fetch the program-data account too and write it
  first: LiteSVM compiles the program when the program account is written, and measured
  (solders 0.29) it fails with "Program is not deployed" if the program data is not there yet.
- Address lookup tables are plain accounts; `lookup_tables` turns them into the
  AddressLookupTableAccount objects a v0 message is compiled against.
- The Clock sysvar is taken from the same source, so programs that check oracle staleness
  see the fetched slot and time (and a snapshot replays the same clock).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.clock import Clock
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from runner.b58 import is_pubkey
from runner.fork.accounts import FetchedAccount
from runner.fork.sources import StateSource

UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111"
LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111"
CLOCK_SYSVAR = "SysvarC1ock11111111111111111111111111111111"
# Not accounts one can fetch or write (the VM synthesizes them per transaction).
NEVER_FETCH = frozenset({"Sysvar1nstructions1111111111111111111111111", "NativeLoader1111111111111111111111111111111"})
PROGRAM_STATE = 2
PROGRAM_DATA_STATE = 3
PROGRAM_DATA_HEADER = 45  # u32 state + u64 slot + Option<Pubkey> (1 + 32)


class ForkError(Exception):
    """Fetched state that cannot be loaded; str() names the account."""


class Forker:
    def __init__(self, svm: LiteSVM, source: StateSource, local: Iterable[str] = ()) -> None:
        self.svm = svm
        self.source = source
        self.local = set(local)  # fresh placeholder keys: never on chain, never fetched
        self.absent: set[str] = set()  # asked for, did not exist: not asked again
        self.loaded: set[str] = set()
        self.round_trips = 0

    def add_local(self, addresses: Iterable[str]) -> None:
        self.local.update(addresses)

    def missing(self, addresses: Iterable[str]) -> list[str]:
        out = []
        for a in dict.fromkeys(addresses):
            if a in self.local or a in self.absent or a in self.loaded or a in NEVER_FETCH or not is_pubkey(a):
                continue
            if self.svm.get_account(Pubkey.from_string(a)) is not None:
                continue
            out.append(a)
        return out

    def ensure(self, addresses: Iterable[str], also: Iterable[str] = (), programs: Iterable[str] = ()) -> None:
        """Fetch and load every address the VM lacks (plus `also`, even if the VM has it).

        `programs` are addresses invoked as programs: their canonical program-data address
        (a PDA of the upgradeable loader) is asked for in the same batch, saving a round trip.
        """
        invoked = self.missing(programs)
        derived = self.missing(_derived_program_data(p) for p in invoked)
        todo = list(dict.fromkeys([*self.missing(addresses), *invoked, *also, *derived]))
        if not todo:
            return
        got = self._fetch(todo)
        upgradeable: list[FetchedAccount] = []
        for address in todo:
            acct = got.get(address)
            if acct is None:
                self.absent.add(address)
            elif acct.executable and acct.owner == UPGRADEABLE_LOADER:
                upgradeable.append(acct)
            elif address == CLOCK_SYSVAR:
                self._set_clock(acct)
            else:
                self._write(acct)
        if upgradeable:
            self._load_programs(upgradeable, got)

    def sync_clock(self) -> None:
        self.ensure((), also=[CLOCK_SYSVAR])

    # ---------------------------------------------------------------- internals

    def _fetch(self, addresses: list[str]) -> dict[str, FetchedAccount | None]:
        self.round_trips += 1
        return self.source.fetch(addresses)

    def _write(self, acct: FetchedAccount) -> None:
        try:
            self.svm.set_account(
                Pubkey.from_string(acct.address),
                Account(acct.lamports, acct.data, Pubkey.from_string(acct.owner), acct.executable, acct.rent_epoch),
            )
        except Exception as exc:  # e.g. an executable account whose ELF does not load
            raise ForkError(f"account {acct.address} (owner {acct.owner}): cannot load into the VM: {exc}") from None
        self.loaded.add(acct.address)

    def _set_clock(self, acct: FetchedAccount) -> None:
        try:
            clock = Clock.from_bytes(acct.data)
        except Exception as exc:
            raise ForkError(f"clock sysvar {acct.address}: cannot decode: {exc}") from None
        self.svm.set_clock(clock)
        self.loaded.add(acct.address)

    def _load_programs(self, programs: list[FetchedAccount], got: dict[str, FetchedAccount | None]) -> None:
        data_addresses = {p.address: _program_data_address(p) for p in programs}
        need = [d for d in dict.fromkeys(data_addresses.values()) if d not in got and d not in self.loaded]
        more = self._fetch(need) if need else {}
        for program in programs:
            d = data_addresses[program.address]
            pdata = got.get(d) or more.get(d)
            if pdata is None and d in self.loaded:
                pdata = _existing(self.svm, d)
            if pdata is None:
                raise ForkError(f"program {program.address}: its program-data account {d} does not exist")
            if pdata.owner != UPGRADEABLE_LOADER or len(pdata.data) < PROGRAM_DATA_HEADER:
                raise ForkError(f"program {program.address}: {d} is not an upgradeable program-data account")
            (state,) = struct.unpack_from("<I", pdata.data, 0)
            if state != PROGRAM_DATA_STATE:
                raise ForkError(f"program {program.address}: {d} has loader state {state}, expected {PROGRAM_DATA_STATE}")
            if not pdata.data[PROGRAM_DATA_HEADER:].startswith(b"\x7fELF"):
                raise ForkError(f"program {program.address}: program data at {d} holds no ELF image")
            self._write(pdata)  # program data first: writing the program account compiles it
            self._write(program)


def _derived_program_data(program_id: str) -> str:
    pda, _ = Pubkey.find_program_address([bytes(Pubkey.from_string(program_id))], Pubkey.from_string(UPGRADEABLE_LOADER))
    return str(pda)


def tables_from_vm(svm: LiteSVM, addresses: Iterable[str]) -> list[AddressLookupTableAccount]:
    """The lookup tables a v0 message is compiled against, read from the VM's accounts."""
    tables = []
    for address in dict.fromkeys(addresses):
        if not is_pubkey(address):
            raise ForkError(f"address lookup table {address!r} is not a base58 public key")
        acct = svm.get_account(Pubkey.from_string(address))
        if acct is None:
            raise ForkError(f"address lookup table {address} does not exist")
        if str(acct.owner) != LOOKUP_TABLE_PROGRAM:
            raise ForkError(f"address lookup table {address} is owned by {acct.owner}, not {LOOKUP_TABLE_PROGRAM}")
        try:
            table = AddressLookupTable.deserialize(bytes(acct.data))
        except Exception as exc:  # solders raises its own error type
            raise ForkError(f"address lookup table {address}: cannot decode: {exc}") from None
        tables.append(AddressLookupTableAccount(Pubkey.from_string(address), list(table.addresses)))
    return tables


def _program_data_address(program: FetchedAccount) -> str:
    data = program.data
    if len(data) < 36 or struct.unpack_from("<I", data, 0)[0] != PROGRAM_STATE:
        raise ForkError(f"program {program.address}: not an upgradeable program account (loader state)")
    return str(Pubkey.from_bytes(data[4:36]))


def _existing(svm: LiteSVM, address: str) -> FetchedAccount | None:
    acct = svm.get_account(Pubkey.from_string(address))
    if acct is None:
        return None
    return FetchedAccount(address, str(acct.owner), acct.lamports, bytes(acct.data), acct.executable, 0, 0)
