"""Behaviour 1: a file name that is not valid UTF-8 is refused and counted; the rest is ingested."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from reevd.store import ExecutionFilter
from tests.e2e.test_daemon_ingest import session_bytes
from tests.helpers import eventually



def _rejected_unsafe(d) -> float:  # type: ignore[no-untyped-def]
    from tests.helpers import http

    _, body, _ = http("GET", f"{d.url}/metrics")
    m = re.search(r'reevd_ingest_rejected_files_total\{reason="unsafe_name"\} (\S+)', body)
    return float(m.group(1)) if m else 0.0


@pytest.mark.e2e
def test_startup_scan_survives_a_non_utf8_name(daemon_factory) -> None:
    """With stdout not a terminal, a session_\\xff.json present at start is counted and every other file ingested."""
    d = daemon_factory()
    d.sessions.mkdir(parents=True, exist_ok=True)
    with open(os.path.join(os.fsencode(d.sessions), b"session_\xff.json"), "wb") as fh:
        fh.write(session_bytes("whatever"))
    for i in range(20):
        (d.sessions / f"session_ok-{i}.json").write_bytes(session_bytes(f"ok-{i}"))
    d.start()  # the daemon's stdout is a file: the JSON renderer is the one in use
    for i in range(20):
        d.wait_status(f"ok-{i}", {"Completed"})
    eventually(lambda: _rejected_unsafe(d) >= 1, 10, "the bad name counted as rejected")
    assert "\\xff" in d.log_path.read_text(errors="replace")


async def test_rescan_goes_on_past_non_utf8_names(tmp_path: Path) -> None:
    """The overflow rescan, logging JSON as under systemd, ingests every good file around bad names."""
    import structlog

    from reevd.ingest import Ingestor
    from reevd.logs import configure_logging
    from reevd.metrics import Metrics
    from reevd.store import Store

    folder = tmp_path / "sessions"
    folder.mkdir()
    for i in range(100):
        (folder / f"session_g{i}.json").write_bytes(session_bytes(f"g{i}"))
    for i in range(5):
        with open(os.path.join(os.fsencode(folder), b"session_\xff" + str(i).encode() + b".json"), "wb") as fh:
            fh.write(b"{}")
    configure_logging("info")  # stdout is captured, not a terminal: the JSON renderer
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        metrics = Metrics()
        ingestor = Ingestor(folder, store, metrics)
        await ingestor.load()
        assert ingestor.scan() == 105
        await ingestor.wait_idle()
        rows = await store.reader.executions(ExecutionFilter(), 500)
        assert len(rows) == 100
        assert metrics.files_rejected.labels("unsafe_name")._value.get() == 5
        await ingestor.close()
    finally:
        await store.close()
        structlog.reset_defaults()
