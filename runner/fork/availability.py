"""Can this benchmark run here, and from which state? Import-light (the daemon's catalog uses it).

A benchmark that the embedded VM can run needs nothing. One that needs mainnet state runs
from its snapshot (`<snapshots dir>/<id>.json.gz`, no network) when there is one, else over
live RPC when an RPC URL is configured, else it is refused with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runner.benchmark import Benchmark

RPC_URL_ENV = "REEV_RPC_URL"
SNAPSHOTS_DIR_NAME = "snapshots"
SNAPSHOT_SUFFIX = ".json.gz"  # = runner.fork.snapshot.SUFFIX (not imported: stays light)


@dataclass(frozen=True)
class Availability:
    mode: str  # "embedded" | "snapshot" | "rpc" | "refused"
    reason: str | None  # why it cannot run (refused) — None otherwise
    snapshot: Path | None = None

    @property
    def runnable(self) -> bool:
        return self.mode != "refused"


def default_snapshots_dir(bench: Benchmark) -> Path:
    """benchmarks/snapshots next to the benchmark file."""
    return Path(bench.source).parent / SNAPSHOTS_DIR_NAME if bench.source else Path(SNAPSHOTS_DIR_NAME)


def availability(
    bench: Benchmark,
    snapshots_dir: Path | None = None,
    rpc_url: str | None = None,
    prefer_rpc: bool = False,
) -> Availability:
    """How `bench` would run: rpc_url None means "read REEV_RPC_URL"; "" means "no RPC"."""
    need = bench.mainnet_reason()
    if need is None:
        return Availability("embedded", None)
    url = os.environ.get(RPC_URL_ENV) if rpc_url is None else rpc_url
    snap = (snapshots_dir or default_snapshots_dir(bench)) / f"{bench.id}{SNAPSHOT_SUFFIX}"
    has_snapshot = snap.is_file()
    if has_snapshot and not (prefer_rpc and url):
        return Availability("snapshot", None, snap)
    if url:
        return Availability("rpc", None)
    name = Path(bench.source).name if bench.source else f"{bench.id}.yml"
    return Availability(
        "refused",
        f"{need}; to run it, give an RPC URL (--rpc-url or {RPC_URL_ENV}) or record a snapshot "
        f"first (reev-runner snapshot {name} --rpc-url URL)",
    )


def runnable_reason(bench: Benchmark, snapshots_dir: Path | None = None) -> tuple[bool, str | None]:
    """(runnable, reason) for a catalog: the daemon's environment decides about RPC."""
    a = availability(bench, snapshots_dir)
    return a.runnable, a.reason
