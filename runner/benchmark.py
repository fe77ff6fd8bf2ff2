"""Load upstream reev's benchmark YAML into frozen dataclasses, with one-line errors.

Import-light on purpose: the daemon imports this for /sync and /upsert-yml validation,
so nothing here may pull in solders. Unknown keys are ignored (upstream files carry
extras such as min_score or success_criteria); a missing or mistyped required field is a
BenchmarkError naming the file and the field path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.b58 import is_pubkey
from runner.formats import is_safe_id
from runner.programs import EMBEDDED_PROGRAMS, TOKEN_PROGRAMS, USER_WALLET

MAX_FILE_BYTES = 256 * 1024
NOT_SCORED = "..."  # upstream's marker for instruction data that is not compared

ASSERTION_TYPES = ("SolBalance", "SolBalanceChange", "TokenAccountBalance")


class BenchmarkError(Exception):
    """A benchmark file that cannot be used; str() is one line: 'source: field: message'."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class TokenData:
    mint: str
    owner: str
    amount: int


@dataclass(frozen=True)
class InitialAccount:
    pubkey: str
    owner: str
    lamports: int
    data: TokenData | None = None


@dataclass(frozen=True)
class AddressDerivation:
    type: str
    owner: str
    mint: str


@dataclass(frozen=True)
class Assertion:
    type: str
    pubkey: str
    weight: float = 1.0
    expected: int | None = None
    expected_gte: int | None = None
    expected_change_gte: int | None = None
    address_derivation: AddressDerivation | None = None


@dataclass(frozen=True)
class ExpectedAccount:
    pubkey: str
    is_signer: bool
    is_writable: bool
    weight: float = 1.0


@dataclass(frozen=True)
class ExpectedInstruction:
    program_id: str
    accounts: tuple[ExpectedAccount, ...]
    program_id_weight: float = 1.0
    data: str | None = None
    data_weight: float | None = None

    @property
    def data_scored(self) -> bool:
        return self.data is not None and self.data != NOT_SCORED and self.data_weight is not None


@dataclass(frozen=True)
class ResponseCheck:
    """Upstream's `response_validation` item: an API-only benchmark's answer is scored on these."""

    field: str  # dotted path into the tool's answer, e.g. result.data.positions.total_positions
    type: str  # "number" | "array" | "object" | "string"
    min_value: float | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class GroundTruth:
    final_state_assertions: tuple[Assertion, ...]
    expected_instructions: tuple[ExpectedInstruction, ...] = ()
    skip_instruction_validation: bool = False
    response_validation: tuple[ResponseCheck, ...] = ()


@dataclass(frozen=True)
class FlowStep:
    step: int
    description: str
    prompt: str
    critical: bool = False


@dataclass(frozen=True)
class Benchmark:
    id: str
    description: str
    tags: tuple[str, ...]
    initial_state: tuple[InitialAccount, ...]
    prompt: str
    ground_truth: GroundTruth
    flow: tuple[FlowStep, ...] = ()
    source: str = ""

    @property
    def step_prompts(self) -> tuple[str, ...]:
        """One prompt per step: the flow's prompts, or the single top-level prompt."""
        return tuple(s.prompt for s in self.flow) if self.flow else (self.prompt,)

    def mainnet_reason(self) -> str | None:
        """None when the embedded VM can run this benchmark, else why it cannot.

        Decided by what the benchmark references, not by its id: protocols and programs
        the VM does not load, and token mints that only a protocol could create.
        """
        suffix = "not available on the embedded VM"
        words = " ".join((self.prompt, *(s.prompt for s in self.flow))).lower()
        if "jupiter" in (t.lower() for t in self.tags) or "jupiter" in words:
            return f"needs mainnet state (Jupiter programs); {suffix}"
        for ix in self.ground_truth.expected_instructions:
            if ix.program_id not in EMBEDDED_PROGRAMS:
                return f"needs mainnet state (program {ix.program_id}); {suffix}"
        for acc in self.initial_state:
            if acc.owner not in EMBEDDED_PROGRAMS:
                return f"needs mainnet state (accounts owned by program {acc.owner}); {suffix}"
        held_mints = {a.data.mint for a in self.initial_state if a.data is not None}
        for a in self.ground_truth.final_state_assertions:
            d = a.address_derivation
            if d is not None and d.mint not in held_mints:
                # Nobody holds this mint at the start, so only a protocol could issue it.
                return f"needs mainnet state (mint {d.mint} is issued by a protocol); {suffix}"
        return None


# --------------------------------------------------------------------------- loading


def read_benchmark_bytes(path: str | Path) -> bytes:
    """A benchmark file's bytes, read once and capped (a file may grow between stat and read)."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BenchmarkError(source, "", f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BenchmarkError(source, "", f"file is larger than the limit of {MAX_FILE_BYTES} bytes")
    return raw


def parse_benchmark_bytes(raw: bytes, source: str) -> Benchmark:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchmarkError(source, "", "file is not UTF-8 text") from None
    return load_benchmark_text(text, source)


def load_benchmark_file(path: str | Path) -> Benchmark:
    return parse_benchmark_bytes(read_benchmark_bytes(path), str(path))


def load_benchmark_text(text: str, source: str) -> Benchmark:
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise BenchmarkError(source, "", f"document is larger than {MAX_FILE_BYTES} bytes")
    import yaml  # lazy: only loading needs it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_depth(yaml, text, loader, source)
        doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        field = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BenchmarkError(source, field, f"invalid YAML: {problem}") from None
    return _Parser(source).benchmark(doc)


MAX_YAML_DEPTH = 64  # a benchmark nests a few levels; 50,000 crashed the composer (SIGSEGV)


def _check_depth(yaml: Any, text: str, loader: Any, source: str) -> None:
    """Refuse a document nested deeper than MAX_YAML_DEPTH before composing it.

    Parse events come from an iterative parser (its own stack on the heap); only building the
    node tree recurses, so counting collection starts here cannot overflow the C stack.
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise BenchmarkError(source, f"line {mark.line + 1}" if mark is not None else "",
                                     f"nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


class _Parser:
    """Walks the parsed YAML, checking types and naming the field path on any error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, message: str) -> BenchmarkError:
        return BenchmarkError(self.source, field, message)

    # typed getters ----------------------------------------------------------------

    def _get(self, m: dict[str, Any], key: str, path: str, required: bool) -> Any:
        if key not in m or m[key] is None:
            if required:
                raise self.fail(_join(path, key), "missing required field")
            return None
        return m[key]

    def str_(self, m: dict[str, Any], key: str, path: str, required: bool = True) -> str | None:
        v = self._get(m, key, path, required)
        if v is not None and not isinstance(v, str):
            raise self.fail(_join(path, key), f"expected a string, got {_kind(v)}")
        return v

    def int_(self, m: dict[str, Any], key: str, path: str, required: bool = True) -> int | None:
        v = self._get(m, key, path, required)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise self.fail(_join(path, key), f"expected an integer, got {_kind(v)}")
        return v

    def uint(self, m: dict[str, Any], key: str, path: str, required: bool = True) -> int | None:
        v = self.int_(m, key, path, required)
        if v is not None and not 0 <= v < 2**64:
            raise self.fail(_join(path, key), f"expected an unsigned 64-bit integer, got {v}")
        return v

    def float_(self, m: dict[str, Any], key: str, path: str, default: float | None) -> float | None:
        v = self._get(m, key, path, False)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(_join(path, key), f"expected a number, got {_kind(v)}")
        if v < 0:
            raise self.fail(_join(path, key), "must not be negative")
        return float(v)

    def bool_(self, m: dict[str, Any], key: str, path: str, default: bool | None = None) -> bool:
        v = self._get(m, key, path, default is None)
        if v is None:
            return bool(default)
        if not isinstance(v, bool):
            raise self.fail(_join(path, key), f"expected true or false, got {_kind(v)}")
        return v

    def map_(self, v: Any, path: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(v)}")
        return v

    def list_(self, m: dict[str, Any], key: str, path: str, required: bool = True) -> list[Any]:
        v = self._get(m, key, path, required)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(_join(path, key), f"expected a list, got {_kind(v)}")
        return v

    # structure --------------------------------------------------------------------

    def benchmark(self, doc: Any) -> Benchmark:
        if not isinstance(doc, dict):
            raise self.fail("", f"expected a YAML mapping at the top level, got {_kind(doc)}")
        bid = self.str_(doc, "id", "")
        assert bid is not None
        if not is_safe_id(bid):
            raise self.fail("id", "must be letters, digits, '-' or '_' (at most 128)")
        tags = self.list_(doc, "tags", "")
        for i, t in enumerate(tags):
            if not isinstance(t, str):
                raise self.fail(f"tags[{i}]", f"expected a string, got {_kind(t)}")
        initial = tuple(
            self.initial_account(a, f"initial_state[{i}]") for i, a in enumerate(self.list_(doc, "initial_state", ""))
        )
        if not any(a.pubkey == USER_WALLET for a in initial):
            raise self.fail("initial_state", f"no {USER_WALLET} account (the fee payer)")
        flow = tuple(self.flow_step(s, f"flow[{i}]") for i, s in enumerate(self.list_(doc, "flow", "", False)))
        return Benchmark(
            id=bid,
            description=self.str_(doc, "description", "") or "",
            tags=tuple(tags),
            initial_state=initial,
            prompt=self.str_(doc, "prompt", "") or "",
            ground_truth=self.ground_truth(self._get(doc, "ground_truth", "", True)),
            flow=flow,
            source=self.source,
        )

    def initial_account(self, v: Any, path: str) -> InitialAccount:
        m = self.map_(v, path)
        owner = self.str_(m, "owner", path) or ""
        data = None
        if m.get("data") is not None:
            dpath = f"{path}.data"
            d = self.map_(m["data"], dpath)
            amount = d.get("amount")
            if isinstance(amount, str) and amount.strip().isdigit():
                amount = int(amount)  # upstream writes amounts as strings
            if amount is None:
                raise self.fail(f"{dpath}.amount", "missing required field")
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount < 2**64:
                raise self.fail(f"{dpath}.amount", f"expected a token amount, got {_kind(amount)}")
            if owner not in TOKEN_PROGRAMS and owner in EMBEDDED_PROGRAMS:
                raise self.fail(f"{path}.owner", "an account with token data must be owned by a token program")
            data = TokenData(
                mint=self.str_(d, "mint", dpath) or "",
                owner=self.str_(d, "owner", dpath) or "",
                amount=amount,
            )
        return InitialAccount(
            pubkey=self.str_(m, "pubkey", path) or "",
            owner=owner,
            lamports=self.uint(m, "lamports", path) or 0,
            data=data,
        )

    def ground_truth(self, v: Any) -> GroundTruth:
        m = self.map_(v, "ground_truth")
        assertions = tuple(
            self.assertion(a, f"ground_truth.final_state_assertions[{i}]")
            for i, a in enumerate(self.list_(m, "final_state_assertions", "ground_truth", False))
        )
        instructions = tuple(
            self.instruction(x, f"ground_truth.expected_instructions[{i}]")
            for i, x in enumerate(self.list_(m, "expected_instructions", "ground_truth", False))
        )
        checks = tuple(
            self.response_check(x, f"ground_truth.response_validation[{i}]")
            for i, x in enumerate(self.list_(m, "response_validation", "ground_truth", False))
        )
        return GroundTruth(
            final_state_assertions=assertions,
            expected_instructions=instructions,
            skip_instruction_validation=self.bool_(m, "skip_instruction_validation", "ground_truth", False),
            response_validation=checks,
        )

    def response_check(self, v: Any, path: str) -> ResponseCheck:
        m = self.map_(v, path)
        kind = self.str_(m, "type", path) or ""
        if kind not in ("number", "array", "object", "string"):
            raise self.fail(f"{path}.type", f"unknown type {kind!r} (known: number, array, object, string)")
        weight = self.float_(m, "weight", path, 1.0)
        min_value = m.get("min_value")
        if min_value is not None and (isinstance(min_value, bool) or not isinstance(min_value, int | float)):
            raise self.fail(f"{path}.min_value", f"expected a number, got {_kind(min_value)}")
        return ResponseCheck(self.str_(m, "field", path) or "", kind, min_value, weight if weight is not None else 1.0)

    def assertion(self, v: Any, path: str) -> Assertion:
        m = self.map_(v, path)
        kind = self.str_(m, "type", path)
        if kind not in ASSERTION_TYPES:
            raise self.fail(f"{path}.type", f"unknown assertion type {kind!r} (known: {', '.join(ASSERTION_TYPES)})")
        pubkey = self.str_(m, "pubkey", path) or ""
        weight = self.float_(m, "weight", path, 1.0)
        assert weight is not None
        if kind == "SolBalance":
            return Assertion(kind, pubkey, weight, expected=self.uint(m, "expected", path))
        if kind == "SolBalanceChange":
            return Assertion(kind, pubkey, weight, expected_change_gte=self.int_(m, "expected_change_gte", path))
        expected = self.uint(m, "expected", path, False)
        expected_gte = self.uint(m, "expected_gte", path, False)
        if expected is None and expected_gte is None:
            raise self.fail(f"{path}.expected", "missing required field (expected or expected_gte)")
        derivation = None
        if m.get("address_derivation") is not None:
            dpath = f"{path}.address_derivation"
            d = self.map_(m["address_derivation"], dpath)
            dtype = self.str_(d, "type", dpath)
            if dtype != "AssociatedTokenAccount":
                raise self.fail(f"{dpath}.type", f"unknown derivation {dtype!r} (known: AssociatedTokenAccount)")
            mint = self.str_(d, "mint", dpath) or ""
            if not is_pubkey(mint):
                raise self.fail(f"{dpath}.mint", f"not a base58 public key: {mint!r}")
            derivation = AddressDerivation(dtype, self.str_(d, "owner", dpath) or "", mint)
        return Assertion(
            kind, pubkey, weight, expected=expected, expected_gte=expected_gte, address_derivation=derivation
        )

    def instruction(self, v: Any, path: str) -> ExpectedInstruction:
        m = self.map_(v, path)
        accounts = []
        for i, a in enumerate(self.list_(m, "accounts", path)):
            apath = f"{path}.accounts[{i}]"
            am = self.map_(a, apath)
            weight = self.float_(am, "weight", apath, 1.0)
            assert weight is not None
            accounts.append(
                ExpectedAccount(
                    pubkey=self.str_(am, "pubkey", apath) or "",
                    is_signer=self.bool_(am, "is_signer", apath),
                    is_writable=self.bool_(am, "is_writable", apath),
                    weight=weight,
                )
            )
        program_id_weight = self.float_(m, "program_id_weight", path, 1.0)
        assert program_id_weight is not None
        return ExpectedInstruction(
            program_id=self.str_(m, "program_id", path) or "",
            accounts=tuple(accounts),
            program_id_weight=program_id_weight,
            data=self.str_(m, "data", path, False),
            data_weight=self.float_(m, "data_weight", path, None),
        )

    def flow_step(self, v: Any, path: str) -> FlowStep:
        m = self.map_(v, path)
        return FlowStep(
            step=self.uint(m, "step", path) or 0,
            description=self.str_(m, "description", path, False) or "",
            prompt=self.str_(m, "prompt", path) or "",
            critical=self.bool_(m, "critical", path, False),
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "a boolean"
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number"}.get(
        type(v), type(v).__name__
    )
