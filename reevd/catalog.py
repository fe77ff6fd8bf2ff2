"""The benchmark catalog: benchmarks/ on disk, mirrored into the database.

A sync reads every YAML file with the runner's own loader (one schema, one truth), keys
rows by the YAML `id`, and in one transaction upserts what changed and deletes ids whose
file is gone. It runs at startup, on POST /sync, after /upsert-yml, and when the watcher
reports a change in the folder. Watcher events only mark the catalog dirty: a burst of
events costs one pass, and passes never overlap (one lock).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import structlog

from reevd.models import utc_now_iso
from runner.formats import BENCHMARK_SUFFIXES
from reevd.store import Store
from reevd.store import benchmarks as q
from reevd.store.benchmarks import BenchmarkRow, CatalogSync

log = structlog.get_logger("reevd.catalog")

SUFFIXES = BENCHMARK_SUFFIXES


@dataclass
class SyncReport:
    processed_count: int = 0
    new_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    error_count: int = 0
    removed_count: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "processed_count": self.processed_count, "new_count": self.new_count,
            "updated_count": self.updated_count, "unchanged_count": self.unchanged_count,
            "error_count": self.error_count, "removed_count": self.removed_count, "errors": self.errors,
        }


def is_benchmark_file(name: str) -> bool:
    # Dot-files are editors' and our own temp files (upsert writes .<id>.yml.tmp then renames).
    return name.endswith(SUFFIXES) and not name.startswith(".")


def load_row(path: Path) -> BenchmarkRow:
    """Parse one file into a catalog row. Raises runner.benchmark.BenchmarkError. Runs on a thread."""
    from runner.benchmark import parse_benchmark_bytes, read_benchmark_bytes

    raw = read_benchmark_bytes(path)  # read once, capped: the bytes hashed are the bytes parsed
    bench = parse_benchmark_bytes(raw, str(path))
    reason = bench.mainnet_reason()
    stem = path.name.rsplit(".", 1)[0]
    if stem != bench.id:
        # The launcher runs benchmarks/<id>.yml: a file whose name differs can be listed, not run.
        reason = f"file {path.name} does not match its id; the launcher runs benchmarks/{bench.id}.yml"
    return BenchmarkRow(
        benchmark_id=bench.id,
        file_name=path.name,
        description=bench.description,
        tags=orjson.dumps(list(bench.tags)).decode(),
        prompt=bench.prompt or (bench.flow[0].prompt if bench.flow else ""),
        runnable=reason is None,
        reason=reason,
        steps=len(bench.step_prompts),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def scan_folder(folder: Path) -> tuple[dict[str, BenchmarkRow], list[dict[str, str]], int]:
    """(rows by id, errors, files processed) for every benchmark file in `folder`. Blocking."""
    from runner.benchmark import BenchmarkError

    rows: dict[str, BenchmarkRow] = {}
    errors: list[dict[str, str]] = []
    try:
        names = sorted(e.name for e in os.scandir(folder) if is_benchmark_file(e.name) and e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return rows, errors, 0
    for name in names:
        try:
            row = load_row(folder / name)
        except BenchmarkError as exc:
            errors.append({"file": name, "field": exc.field, "message": exc.message})
            continue
        except OSError as exc:
            errors.append({"file": name, "field": "", "message": f"cannot read: {exc.strerror or exc}"})
            continue
        held = rows.get(row.benchmark_id)
        if held is not None:
            # Two files, one id: keep the one the launcher would run (named <id>.yml), report the other.
            keep, drop = (row, held) if row.runnable and not held.runnable else (held, row)
            rows[row.benchmark_id] = keep
            errors.append({"file": drop.file_name, "field": "id",
                           "message": f"duplicate id {row.benchmark_id!r} (also in {keep.file_name})"})
            continue
        rows[row.benchmark_id] = row
    return rows, errors, len(names)


class Catalog:
    def __init__(self, folder: Path, store: Store) -> None:
        self._folder = folder
        self._store = store
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._closing = False
        self.syncs = 0

    async def sync(self) -> SyncReport:
        """Bring the table in step with the folder; serialised so two passes never race."""
        async with self._lock:
            return await self._sync()

    async def _sync(self) -> SyncReport:
        found, errors, processed = await asyncio.to_thread(scan_folder, self._folder)
        stored = {r["benchmark_id"]: r["content_hash"] + "|" + r["file_name"]
                  for r in await q.benchmarks(self._store.reader)}
        report = SyncReport(processed_count=processed, error_count=len(errors), errors=errors)
        upserts: list[BenchmarkRow] = []
        for bid, row in found.items():
            before = stored.get(bid)
            if before is None:
                report.new_count += 1
            elif before != row.content_hash + "|" + row.file_name:
                report.updated_count += 1
            else:
                report.unchanged_count += 1
                continue
            upserts.append(row)
        removed = tuple(sorted(set(stored) - set(found)))
        report.removed_count = len(removed)
        if upserts or removed:
            await self._store.writer.write(CatalogSync(tuple(upserts), removed, utc_now_iso()))
        self.syncs += 1
        log.info("benchmarks_synced", processed=processed, new=report.new_count, updated=report.updated_count,
                 removed=report.removed_count, errors=report.error_count)
        for err in errors:
            log.warning("benchmark_rejected", **err)
        return report

    def notify(self, name: str, _finished: bool) -> None:
        """Watcher sink (on the loop): a file in benchmarks/ changed; one pass per burst."""
        if not is_benchmark_file(name):
            return
        self.request_sync()

    def request_sync(self) -> None:
        """Schedule one sync pass (coalesced with any pending one); also used after an overflow."""
        if self._closing:
            return
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="catalog-sync")

    async def _drain(self) -> None:
        while self._dirty and not self._closing:
            self._dirty = False
            try:
                await self.sync()
            except Exception as exc:  # a failed pass is logged; the next change retries
                log.error("benchmarks_sync_failed", error=repr(exc))

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
