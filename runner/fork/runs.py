"""How the CLI picks a benchmark's state source, and what it does after a recording run."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from runner.benchmark import Benchmark
from runner.fork.availability import RPC_URL_ENV, availability, default_snapshots_dir

if TYPE_CHECKING:
    from runner.fork.sources import StateSource


@dataclass(frozen=True)
class ForkOptions:
    rpc_url: str | None = None  # --rpc-url, else REEV_RPC_URL
    snapshots_dir: Path | None = None  # --snapshots-dir, else <benchmark folder>/snapshots
    live: bool = False  # --live: use the RPC even when a snapshot exists
    record: bool = False  # the `snapshot` subcommand

    @classmethod
    def from_args(cls, rpc_url: str | None, snapshots_dir: Path | None, live: bool, record: bool) -> ForkOptions:
        return cls(rpc_url or os.environ.get(RPC_URL_ENV) or None, snapshots_dir, live, record)


class Refused(Exception):
    """This benchmark cannot run with these options; str() says why."""


def source_for(bench: Benchmark, opts: ForkOptions) -> StateSource | None:
    """None for the plain embedded VM; a live or snapshot source in fork mode; Refused otherwise."""
    from runner.fork.rpc import RpcClient, RpcError
    from runner.fork.snapshot import Snapshot, SnapshotError, load_snapshot
    from runner.fork.sources import LiveSource, SnapshotSource

    if opts.record:
        if bench.mainnet_reason() is None:
            raise Refused("runs on the embedded VM alone: nothing to record")
        if not opts.rpc_url:
            raise Refused(f"recording a snapshot needs --rpc-url URL (or {RPC_URL_ENV})")
        snap = Snapshot(benchmark_id=bench.id, key_seed=secrets.token_bytes(32))
        try:
            return LiveSource(RpcClient(opts.rpc_url), record_to=snap)
        except RpcError as exc:
            raise Refused(str(exc)) from None
    avail = availability(bench, opts.snapshots_dir, opts.rpc_url or "", prefer_rpc=opts.live)
    if avail.mode == "embedded":
        return None
    if avail.mode == "refused":
        raise Refused(avail.reason or "cannot run")
    if avail.mode == "snapshot":
        assert avail.snapshot is not None
        try:
            return SnapshotSource(load_snapshot(avail.snapshot))
        except SnapshotError as exc:
            raise Refused(str(exc)) from None
    assert opts.rpc_url
    try:
        return LiveSource(RpcClient(opts.rpc_url))
    except RpcError as exc:
        raise Refused(str(exc)) from None


def save_recording(bench: Benchmark, source: StateSource, opts: ForkOptions, out: TextIO) -> Path:
    from runner.fork.snapshot import snapshot_path
    from runner.fork.sources import LiveSource

    assert isinstance(source, LiveSource) and source.record_to is not None
    path = snapshot_path(opts.snapshots_dir or default_snapshots_dir(bench), bench.id)
    digest = source.save(path)
    snap = source.record_to
    out.write(
        f"-- snapshot {path}: {len(snap.accounts)} accounts, {len(snap.http)} API answers, "
        f"slot {snap.slot}, {digest}\n"
    )
    return path
