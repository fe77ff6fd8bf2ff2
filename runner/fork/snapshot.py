"""Snapshot files: every account a run fetched and every HTTP answer it got, replayable offline.

Format (version 1), `benchmarks/snapshots/<benchmark id>.json.gz`: gzip (mtime 0, so the
same content gives the same bytes) of one UTF-8 JSON object with sorted keys:

    {"format": "reev-snapshot", "version": 1,
     "benchmark_id": str, "recorded_at": ISO-8601 UTC, "slot": highest context slot,
     "key_seed": hex of 32 bytes (placeholder keypairs are derived from it, so a replay
                 uses the same addresses, and Jupiter answers built for them stay valid),
     "accounts": {address: {"owner", "lamports", "data" (base64), "executable",
                            "rent_epoch", "slot"}
                  | {"absent": true, "slot"}},      # asked for, did not exist on chain
     "http": {request key: {"status": int, "body": JSON}}}   # e.g. Jupiter API answers

A request key is "METHOD /path?sorted-query" plus " " and the canonical JSON body when
there is one; the base URL is not part of it. The snapshot's hash is the sha256 of the
uncompressed JSON bytes. stdlib gzip rather than zstd: Python 3.11 has no zstd, and gzip
decompresses fast enough for replay to stay within budget.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner.atomic import write_atomic
from runner.fork.accounts import AccountDecodeError, FetchedAccount
from runner.json_depth import too_deep

FORMAT = "reev-snapshot"
VERSION = 1
SUFFIX = ".json.gz"
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024  # uncompressed; a gzip bomb stops here (a run loads a few programs of a few MB each)


class SnapshotError(Exception):
    """A snapshot that cannot be used; str() is one line naming the file."""


@dataclass
class Snapshot:
    benchmark_id: str
    key_seed: bytes
    accounts: dict[str, FetchedAccount | None] = field(default_factory=dict)
    absent_slots: dict[str, int] = field(default_factory=dict)
    http: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded_at: str = ""
    source: str = ""
    hash: str = ""

    @property
    def slot(self) -> int:
        slots = [a.slot for a in self.accounts.values() if a is not None] + list(self.absent_slots.values())
        return max(slots, default=0)

    def to_bytes(self) -> bytes:
        accounts: dict[str, Any] = {}
        for address, acct in sorted(self.accounts.items()):
            accounts[address] = (
                acct.to_json() if acct is not None else {"absent": True, "slot": self.absent_slots.get(address, 0)}
            )
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "benchmark_id": self.benchmark_id,
            "recorded_at": self.recorded_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "slot": self.slot,
            "key_seed": self.key_seed.hex(),
            "accounts": accounts,
            "http": self.http,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def snapshot_path(snapshots_dir: Path, benchmark_id: str) -> Path:
    return snapshots_dir / f"{benchmark_id}{SUFFIX}"


def save_snapshot(path: Path, snap: Snapshot) -> str:
    """Write atomically; returns the content hash ("sha256:<hex>")."""
    raw = snap.to_bytes()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue())
    snap.hash = "sha256:" + hashlib.sha256(raw).hexdigest()
    snap.source = str(path)
    return snap.hash


def load_snapshot(path: Path) -> Snapshot:
    where = str(path)
    try:
        with gzip.open(path, "rb") as gz:
            raw = gz.read(MAX_SNAPSHOT_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise SnapshotError(f"{where}: cannot read snapshot: {exc}") from None
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"{where}: snapshot is larger than {MAX_SNAPSHOT_BYTES} bytes uncompressed")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise SnapshotError(f"{where}: not valid JSON: {exc}") from None
    except RecursionError:  # a few KB of gzip can hold 100,000 nested brackets
        raise SnapshotError(f"{where}: not valid JSON: nested too deeply") from None
    if too_deep(doc):  # recorded answers are replayed into OTEL and session files
        raise SnapshotError(f"{where}: not valid JSON: nested too deeply")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SnapshotError(f"{where}: format: not a {FORMAT} file")
    if doc.get("version") != VERSION:
        raise SnapshotError(f"{where}: version: {doc.get('version')!r} is not supported (expected {VERSION})")
    try:
        seed = bytes.fromhex(str(doc["key_seed"]))
        if len(seed) != 32:
            raise ValueError("not 32 bytes")
    except (KeyError, ValueError) as exc:
        raise SnapshotError(f"{where}: key_seed: {exc}") from None
    snap = Snapshot(
        benchmark_id=str(doc.get("benchmark_id", "")),
        key_seed=seed,
        recorded_at=str(doc.get("recorded_at", "")),
        source=where,
        hash="sha256:" + hashlib.sha256(raw).hexdigest(),
    )
    accounts = doc.get("accounts")
    http = doc.get("http", {})
    if not isinstance(accounts, dict) or not isinstance(http, dict):
        raise SnapshotError(f"{where}: accounts/http: expected objects")
    try:
        for address, d in accounts.items():
            if not isinstance(d, dict):
                raise AccountDecodeError(f"account {address}: expected an object")
            if d.get("absent"):
                slot = d.get("slot", 0)
                if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
                    raise AccountDecodeError(f"account {address}: slot: expected a whole number")
                snap.accounts[address] = None
                snap.absent_slots[address] = slot
            else:
                snap.accounts[address] = FetchedAccount.from_json(address, d)
    except AccountDecodeError as exc:
        raise SnapshotError(f"{where}: accounts: {exc}") from None
    for key, rec in http.items():  # checked here, so a replay never trips over a bad record
        status = rec.get("status") if isinstance(rec, dict) else None
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise SnapshotError(f"{where}: http: {key[:200]!r}: expected {{status: 100..599, body}}")
    snap.http = http
    return snap
