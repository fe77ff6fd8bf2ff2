"""A small "mainnet" for offline tests: real addresses, state the test builds itself.

- Mints at their real mainnet addresses: USDC (EPjFWdd5...), wrapped SOL, Jupiter Lend's
  jlUSDC and jlSOL (the addresses upstream's YAML uses), as SPL Token 82-byte mints.
- A USDC token account at a real-style address: the associated account of TREASURY.
- Jupiter's swap program (JUP6Lkb...) and lend program (jup3YeL...) as upgradeable BPF
  programs (program + program-data accounts). Their ELF is SPL Memo v3, taken from the
  installed solders wheel: the SBF images embedded in solders/solders.abi3.so are scanned
  for, and the one byte-identical to what LiteSVM loads at MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr
  is used (2,304 bytes in solders 0.29). So "calling Jupiter" runs a real program (it logs
  the memo and checks that every account passed is a signer) — not Jupiter's logic.
- An address lookup table holding USDC, wSOL and the token/system/ATA program ids.
- The Clock sysvar (a fixed slot and time).
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint, TokenAccount, TokenAccountState

from tests.fakes.rpc_server import FakeRpc

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMO_V3 = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111"
LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111"
CLOCK = "SysvarC1ock11111111111111111111111111111111"

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
WSOL = "So11111111111111111111111111111111111111112"
JL_USDC = "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"
JL_SOL = "2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU"
JUPITER_SWAP = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
JUPITER_LEND = "jup3YeL8QhtSx1e253b2FDvsMNC87fDrgQZivbrndc9"

# Fixed keys of the fake world (never signers of a test transaction).
TREASURY = str(Keypair.from_seed(bytes([7] * 32)).pubkey())
TREASURY_USDC = str(get_associated_token_address(Pubkey.from_string(TREASURY), Pubkey.from_string(USDC)))
TREASURY_USDC_AMOUNT = 1_000_000_000  # 1,000 USDC
POOL_AUTHORITY = str(Keypair.from_seed(bytes([8] * 32)).pubkey())
USDC_MINT_AUTHORITY = Keypair.from_seed(bytes([9] * 32)).pubkey()
LOOKUP_TABLE = str(Keypair.from_seed(bytes([10] * 32)).pubkey())
USDC_MINT_LAMPORTS = 388_127_500  # distinctive: tests check the VM holds the fetched mint
SLOT = 380_000_000
UNIX_TIME = 1_760_000_000
TOKEN_ACCOUNT_RENT = 2_039_280
MINT_RENT = 1_461_600


@lru_cache(maxsize=1)
def memo_elf() -> bytes:
    """SPL Memo v3's ELF, found among the SBF images embedded in the solders extension module."""
    import solders

    so = os.path.join(os.path.dirname(solders.__file__), "solders.abi3.so")
    with open(so, "rb") as fh:
        blob = fh.read()
    loaded = bytes(LiteSVM().get_account(Pubkey.from_string(MEMO_V3)).data)  # type: ignore[union-attr]
    i = -1
    while (i := blob.find(b"\x7fELF", i + 1)) >= 0:
        if struct.unpack_from("<H", blob, i + 18)[0] not in (247, 263):  # SBF / BPF machines
            continue
        shoff = struct.unpack_from("<Q", blob, i + 0x28)[0]
        shentsize, shnum = struct.unpack_from("<HH", blob, i + 0x3A)
        elf = blob[i : i + shoff + shnum * shentsize]
        if elf == loaded:
            return elf
    raise RuntimeError("SPL Memo v3 ELF not found in solders.abi3.so")


def mint_bytes(decimals: int, supply: int, authority: Pubkey | None = None) -> bytes:
    return bytes(Mint(mint_authority=authority, supply=supply, decimals=decimals, is_initialized=True,
                      freeze_authority=authority))


def token_bytes(mint: str, owner: str, amount: int, delegate: str | None = None, native_rent: int | None = None) -> bytes:
    return bytes(TokenAccount(
        mint=Pubkey.from_string(mint), owner=Pubkey.from_string(owner), amount=amount,
        delegate=Pubkey.from_string(delegate) if delegate else None, state=TokenAccountState.Initialized,
        is_native=native_rent, delegated_amount=amount if delegate else 0, close_authority=None,
    ))


def program_accounts(program_id: str, elf: bytes, deploy_slot: int = 300_000_000) -> tuple[str, bytes, bytes]:
    """(program-data address, program account data, program-data account data) for the upgradeable loader."""
    pdata, _ = Pubkey.find_program_address([bytes(Pubkey.from_string(program_id))], Pubkey.from_string(UPGRADEABLE_LOADER))
    program = struct.pack("<I", 2) + bytes(pdata)
    programdata = struct.pack("<IQ", 3, deploy_slot) + b"\x01" + bytes(USDC_MINT_AUTHORITY) + elf
    return str(pdata), program, programdata


def lookup_table_bytes(addresses: list[str]) -> bytes:
    meta = struct.pack("<IQQB", 1, 2**64 - 1, 0, 0) + b"\x01" + bytes(USDC_MINT_AUTHORITY) + b"\x00\x00"
    assert len(meta) == 56
    return meta + b"".join(bytes(Pubkey.from_string(a)) for a in addresses)


def populate(rpc: FakeRpc) -> None:
    rpc.add(USDC, TOKEN, USDC_MINT_LAMPORTS, mint_bytes(6, 10**15, USDC_MINT_AUTHORITY))
    rpc.add(WSOL, TOKEN, MINT_RENT, mint_bytes(9, 0))
    rpc.add(JL_USDC, TOKEN, MINT_RENT, mint_bytes(6, 10**12, Pubkey.from_string(POOL_AUTHORITY)))
    rpc.add(JL_SOL, TOKEN, MINT_RENT, mint_bytes(9, 10**12, Pubkey.from_string(POOL_AUTHORITY)))
    pool_usdc = str(get_associated_token_address(Pubkey.from_string(POOL_AUTHORITY), Pubkey.from_string(USDC)))
    rpc.add(pool_usdc, TOKEN, TOKEN_ACCOUNT_RENT, token_bytes(USDC, POOL_AUTHORITY, 0))
    rpc.add(TREASURY_USDC, TOKEN, TOKEN_ACCOUNT_RENT, token_bytes(USDC, TREASURY, TREASURY_USDC_AMOUNT))
    for program_id in (JUPITER_SWAP, JUPITER_LEND):
        pdata, program, programdata = program_accounts(program_id, memo_elf())
        rpc.add(program_id, UPGRADEABLE_LOADER, 1_141_440, program, executable=True)
        rpc.add(pdata, UPGRADEABLE_LOADER, 10_000_000, programdata)
    rpc.add(LOOKUP_TABLE, LOOKUP_TABLE_PROGRAM, 5_000_000, lookup_table_bytes([USDC, WSOL, TOKEN, SYSTEM, ATA_PROGRAM]))
    rpc.add(CLOCK, "Sysvar1111111111111111111111111111111111111", 1_169_280,
            struct.pack("<QqQQq", SLOT, UNIX_TIME - 100_000, 880, 881, UNIX_TIME))
