"""A fresh embedded Solana VM (solders LiteSVM) per run, set up with upstream's semantics.

- Any initial_state pubkey that is not valid base58 is a placeholder and gets a fresh key.
- Only USER_WALLET_PUBKEY is funded; it is the fee payer and the only signer we use.
- Token accounts sit at the associated token address of (resolved owner, mint) under the
  token program that owns them; mints are synthesized as plain 82-byte Mint accounts.
- A transaction is simulated first and sent only if the simulation passed, so a failing
  one changes nothing and charges no fee.
- Fork mode (a `StateSource` given): before the agent sees the state, every base58 address the
  benchmark names that the VM lacks is fetched (one batched round trip, with the Clock sysvar);
  before each transaction, every address it names. Accounts the YAML defines are written after
  the fetch, so they override what the chain has; a mint is synthesized only when the chain has
  none. Placeholders still get fresh keys (derived from the snapshot's seed when replaying).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from runner.actions import RawInstruction
from runner.b58 import b58decode, is_pubkey
from runner.benchmark import Benchmark
from runner.programs import EMBEDDED_PROGRAMS, TOKEN_PROGRAM, TOKEN_PROGRAMS, USER_WALLET, mint_decimals

if TYPE_CHECKING:
    from runner.fork.loader import Forker
    from runner.fork.sources import StateSource

SUCCESS = "Success"
FAILURE = "Failure"
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82


class EnvError(Exception):
    """The VM could not be set up from the benchmark's initial_state."""


class StateError(EnvError):
    """Fork mode could not get the state a step needs (RPC failure, account missing in a snapshot)."""


@dataclass
class TxOutcome:
    status: str  # "Success" | "Failure"
    error: str | None = None
    logs: list[str] = field(default_factory=list)


class SolanaEnv:
    def __init__(self, benchmark: Benchmark, source: StateSource | None = None) -> None:
        self.benchmark = benchmark
        self.svm = LiteSVM()
        self.keypairs: dict[str, Keypair] = {}
        self.pubkeys: dict[str, Pubkey] = {}
        self.last = TxOutcome(SUCCESS)  # upstream's initial observation reports Success
        self.source = source
        self.forker: Forker | None = None
        self._setup()
        # For SolBalanceChange: balances before the agent acted.
        self._initial_by_address = {str(pk): self.lamports(str(pk)) for pk in self.pubkeys.values()}

    # ----------------------------------------------------------------- set-up

    def _resolve(self, name: str) -> Pubkey:
        """The pubkey for a name: itself when base58, else a (new) placeholder key."""
        if name in self.pubkeys:
            return self.pubkeys[name]
        if is_pubkey(name):
            pk = Pubkey.from_string(name)
        else:
            seed = self.source.key_seed if self.source is not None else None
            # Replaying a snapshot: the same keys as when it was recorded, so the recorded
            # answers (built for those addresses) still apply.
            kp = Keypair.from_seed(hashlib.sha256(seed + b"/" + name.encode()).digest()) if seed else Keypair()
            self.keypairs[name] = kp
            pk = kp.pubkey()
        self.pubkeys[name] = pk
        return pk

    def _setup(self) -> None:
        state = self.benchmark.initial_state
        # Wallets first, so token accounts can resolve their owners by name.
        for acc in state:
            if acc.data is None:
                pk = self._resolve(acc.pubkey)
                if acc.pubkey == USER_WALLET and acc.lamports > 0:
                    self.svm.set_account(pk, Account(acc.lamports, b"", Pubkey.from_string(acc.owner), False, 0))
        if self.source is not None:
            self._fork_initial()
        supply: dict[tuple[str, str], int] = {}
        for acc in state:
            if acc.data is None:
                continue
            d = acc.data
            if not is_pubkey(d.mint):
                raise EnvError(f"{acc.pubkey}: token mint {d.mint!r} is not a base58 public key")
            program = Pubkey.from_string(acc.owner)
            mint = Pubkey.from_string(d.mint)
            owner = self._resolve(d.owner)
            address = (
                get_associated_token_address(owner, mint, program)
                if not is_pubkey(acc.pubkey)
                else Pubkey.from_string(acc.pubkey)
            )
            self.pubkeys[acc.pubkey] = address
            token = TokenAccount(
                mint=mint,
                owner=owner,
                amount=d.amount,
                delegate=None,
                state=TokenAccountState.Initialized,
                is_native=None,
                delegated_amount=0,
                close_authority=None,
            )
            lamports = acc.lamports or self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
            self.svm.set_account(address, Account(lamports, bytes(token), program, False, 0))
            key = (d.mint, acc.owner)
            supply[key] = supply.get(key, 0) + d.amount
        for (mint_str, program_str), total in supply.items():
            if self.forker is not None and self.svm.get_account(Pubkey.from_string(mint_str)) is not None:
                self.pubkeys.setdefault(mint_str, Pubkey.from_string(mint_str))
                continue  # the real mint, fetched: keep its decimals, supply and authorities
            mint_state = Mint(
                mint_authority=None,
                supply=total,
                decimals=mint_decimals(mint_str),
                is_initialized=True,
                freeze_authority=None,
            )
            rent = self.svm.minimum_balance_for_rent_exemption(MINT_LEN)
            self.svm.set_account(
                Pubkey.from_string(mint_str),
                Account(rent, bytes(mint_state), Pubkey.from_string(program_str), False, 0),
            )
            self.pubkeys.setdefault(mint_str, Pubkey.from_string(mint_str))
        # Programs that own initial accounts are named in the key_map too, like upstream.
        for acc in state:
            self.pubkeys.setdefault(acc.owner, Pubkey.from_string(acc.owner))
        # Placeholders named only by derived assertions (e.g. an ATA created during the run).
        for a in self.benchmark.ground_truth.final_state_assertions:
            if a.address_derivation is not None and a.pubkey not in self.pubkeys:
                self.pubkeys[a.pubkey] = self.derive_ata(a.address_derivation.owner, a.address_derivation.mint)
        if USER_WALLET not in self.keypairs:
            raise EnvError(f"{USER_WALLET} must be a placeholder (the runner holds its key)")

    def _fork_initial(self) -> None:
        from runner.fork.loader import CLOCK_SYSVAR, Forker

        assert self.source is not None
        self.forker = Forker(self.svm, self.source, (str(kp.pubkey()) for kp in self.keypairs.values()))
        b = self.benchmark
        yaml_defined = {a.pubkey for a in b.initial_state}
        names: list[str] = [a.owner for a in b.initial_state]
        for a in b.initial_state:
            if a.data is not None:
                names += [a.data.mint, a.data.owner]
        for x in b.ground_truth.final_state_assertions:
            names.append(x.pubkey)
            if x.address_derivation is not None:
                names.append(x.address_derivation.mint)
        names += [ix.program_id for ix in b.ground_truth.expected_instructions]
        wanted = [n for n in names if is_pubkey(n) and n not in yaml_defined and n not in EMBEDDED_PROGRAMS]
        self._fork_call(lambda f: f.ensure(wanted, also=[CLOCK_SYSVAR]))

    def _fork_call(self, fn: Any) -> Any:
        from runner.fork.http import HttpError
        from runner.fork.loader import ForkError
        from runner.fork.rpc import RpcError
        from runner.fork.sources import MissingStateError

        assert self.forker is not None
        self.forker.add_local(str(kp.pubkey()) for kp in self.keypairs.values())
        try:
            return fn(self.forker)
        except (ForkError, MissingStateError, RpcError, HttpError) as exc:
            raise StateError(str(exc)) from None

    def derive_ata(self, owner_name: str, mint: str) -> Pubkey:
        """ATA of (resolved owner, mint) under the mint's token program (SPL Token if unknown)."""
        mint_pk = Pubkey.from_string(mint)
        acct = self.svm.get_account(mint_pk)
        program = (
            acct.owner if acct is not None and str(acct.owner) in TOKEN_PROGRAMS else Pubkey.from_string(TOKEN_PROGRAM)
        )
        return get_associated_token_address(self._resolve(owner_name), mint_pk, program)

    # ------------------------------------------------------------------ reads

    @property
    def key_map(self) -> dict[str, str]:
        return {name: str(pk) for name, pk in self.pubkeys.items()}

    def resolve(self, name: str) -> str | None:
        pk = self.pubkeys.get(name)
        if pk is not None:
            return str(pk)
        return name if is_pubkey(name) else None

    def derive_ata_address(self, owner_name: str, mint: str) -> str:
        return str(self.derive_ata(owner_name, mint))

    def initial_lamports_of(self, address: str) -> int:
        return self._initial_by_address.get(address, 0)

    def lamports(self, address: str) -> int:
        acct = self.svm.get_account(Pubkey.from_string(address))
        return acct.lamports if acct is not None else 0

    def token_amount(self, address: str) -> int | None:
        acct = self.svm.get_account(Pubkey.from_string(address))
        if acct is None or str(acct.owner) not in TOKEN_PROGRAMS or len(acct.data) < TOKEN_ACCOUNT_LEN:
            return None
        return TokenAccount.from_bytes(bytes(acct.data[:TOKEN_ACCOUNT_LEN])).amount

    def account_states(self) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = {}
        for name, pk in self.pubkeys.items():
            acct = self.svm.get_account(pk)
            if acct is None:
                continue  # upstream lists only accounts that exist
            state: dict[str, Any] = {
                "data_len": len(acct.data),
                "executable": acct.executable,
                "lamports": acct.lamports,
                "owner": str(acct.owner),
            }
            if str(acct.owner) in TOKEN_PROGRAMS and len(acct.data) >= TOKEN_ACCOUNT_LEN:
                tok = TokenAccount.from_bytes(bytes(acct.data[:TOKEN_ACCOUNT_LEN]))
                # Same extra fields as upstream's observation of token accounts.
                state["amount"] = str(tok.amount)
                state["mint"] = str(tok.mint)
                state["token_account_owner"] = str(tok.owner)
            states[name] = state
        return states

    def observation(self) -> dict[str, Any]:
        # Keys sorted, as in upstream's session files.
        return {
            "account_states": dict(sorted(self.account_states().items())),
            "key_map": dict(sorted(self.key_map.items())),
            "last_transaction_error": self.last.error,
            "last_transaction_logs": list(self.last.logs),
            "last_transaction_status": self.last.status,
        }

    # ---------------------------------------------------------------- execute

    def execute(self, actions: list[RawInstruction], lookup_tables: Sequence[str] = ()) -> TxOutcome:
        """All actions in one transaction, signed by the fee payer only; simulate, then send.

        With lookup tables the transaction is a v0 message compiled against them. In fork
        mode the accounts it names are fetched first (StateError if that fails).
        """
        if not actions:
            self.last = TxOutcome(FAILURE, "the agent produced no instructions")
            return self.last
        try:
            ixs = [_to_instruction(a) for a in actions]
        except ValueError as exc:
            self.last = TxOutcome(FAILURE, f"invalid instruction: {exc}")
            return self.last
        if self.forker is not None:
            named = [a.program_id for a in actions] + [m.pubkey for a in actions for m in a.accounts]
            invoked = [a.program_id for a in actions]
            self._fork_call(lambda f: f.ensure([*named, *lookup_tables], programs=invoked))
        payer = self.keypairs[USER_WALLET]
        blockhash = self.svm.latest_blockhash()
        try:
            if lookup_tables:
                from runner.fork.loader import ForkError, tables_from_vm

                try:
                    tables = tables_from_vm(self.svm, lookup_tables)
                except ForkError as exc:
                    self.last = TxOutcome(FAILURE, str(exc))
                    return self.last
                msg = MessageV0.try_compile(payer.pubkey(), ixs, tables, blockhash)
                n = msg.header.num_required_signatures
                # Only the fee payer signs; other required signatures stay empty and the
                # VM rejects the transaction itself, as a validator would.
                sigs = [
                    payer.sign_message(to_bytes_versioned(msg)) if k == payer.pubkey() else Signature.default()
                    for k in msg.account_keys[:n]
                ]
                vtx: Transaction | VersionedTransaction = VersionedTransaction.populate(msg, sigs)
            else:
                tx = Transaction.new_unsigned(Message.new_with_blockhash(ixs, payer.pubkey(), blockhash))
                # Partial signing leaves other required signatures empty: the VM then rejects
                # the transaction itself, as a validator would.
                tx.partial_sign([payer], blockhash)
                vtx = tx
        except Exception as exc:  # solders raises its own error types for bad messages
            self.last = TxOutcome(FAILURE, f"cannot build transaction: {exc}")
            return self.last
        return self._simulate_then_send(vtx)

    def record_api_step(self, answer: Any) -> TxOutcome:
        """An API-only step (no transaction): Success when the tool answered successfully."""
        ok = isinstance(answer, dict) and answer.get("status") == "success"
        self.last = TxOutcome(SUCCESS if ok else FAILURE, None if ok else "the API call did not succeed")
        return self.last

    def _simulate_then_send(self, tx: Transaction | VersionedTransaction) -> TxOutcome:
        sim = self.svm.simulate_transaction(tx)
        if isinstance(sim, FailedTransactionMetadata):
            logs = list(sim.meta().logs())
            self.last = TxOutcome(FAILURE, format_tx_error(sim.err(), logs), logs)
            return self.last
        sent = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()  # a later identical step must not be "already processed"
        if isinstance(sent, FailedTransactionMetadata):
            logs = list(sent.meta().logs())
            self.last = TxOutcome(FAILURE, format_tx_error(sent.err(), logs), logs)
        else:
            self.last = TxOutcome(SUCCESS, None, list(sent.logs()))
        return self.last


def _to_instruction(a: RawInstruction) -> Instruction:
    try:
        program = Pubkey.from_string(a.program_id)
        metas = [AccountMeta(Pubkey.from_string(m.pubkey), m.is_signer, m.is_writable) for m in a.accounts]
    except ValueError as exc:
        raise ValueError(f"bad public key: {exc}") from None
    return Instruction(program, b58decode(a.data), metas)


_FIELDLESS = {
    "SignatureFailure": "Transaction did not pass signature verification",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "InvalidProgramForExecution": "Attempt to load a program that does not exist",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
}


def format_tx_error(err: Any, logs: list[str]) -> str:
    """A Solana-style one-line error (as an RPC client would show it)."""
    index = getattr(err, "index", None)
    if index is not None:
        # Instruction errors: the runtime already wrote the readable reason in the logs.
        for line in reversed(logs):
            if " failed: " in line:
                return f"Error processing Instruction {index}: {line.split(' failed: ', 1)[1]}"
        inner = err.err
        code = getattr(inner, "code", None)
        text = f"custom program error: {code:#x}" if code is not None else str(inner).rsplit(".", 1)[-1]
        return f"Error processing Instruction {index}: {text}"
    name = str(err).rsplit(".", 1)[-1]
    return _FIELDLESS.get(name, name)
