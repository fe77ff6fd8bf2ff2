"""Temp files that runners killed mid-write leave in logs/sessions/.partial are removed at start."""

from __future__ import annotations

import os
import time
from pathlib import Path

from reevd.ingest.files import remove_stale_temps
from runner.atomic import SESSION_TEMP_SUBFOLDER, write_atomic


def _aged(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_only_old_regular_temp_files_of_the_runners_naming_go(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    write_atomic(sessions / "session_a.json", b"{}", temp_subfolder=SESSION_TEMP_SUBFOLDER)  # makes .partial as runners do
    partial = sessions / SESSION_TEMP_SUBFOLDER
    stale = partial / ".session_dead.json.x1y2.tmp"
    fresh = partial / ".session_live.json.a1b2.tmp"
    other = partial / "notes.txt"
    outside = tmp_path / "outside.tmp"
    for p in (stale, fresh, other, outside):
        p.write_bytes(b"partial")
    link = partial / ".session_link.json.zz.tmp"
    link.symlink_to(outside)
    folder = partial / ".session_dir.json.qq.tmp"
    folder.mkdir()
    for p in (stale, other, outside, link, folder):
        _aged(p, 7200)

    assert remove_stale_temps(sessions) == 1
    assert not stale.exists()
    assert fresh.exists() and other.exists() and folder.is_dir()  # too new, not ours, not a file
    assert link.is_symlink() and outside.read_bytes() == b"partial"  # neither the link nor its target
    assert (sessions / "session_a.json").read_bytes() == b"{}"


def test_a_symlinked_partial_folder_is_left_alone(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / ".important.tmp"
    victim.write_bytes(b"keep")
    _aged(victim, 7200)
    (sessions / SESSION_TEMP_SUBFOLDER).symlink_to(elsewhere)
    assert remove_stale_temps(sessions) == 0
    assert victim.read_bytes() == b"keep"
    assert remove_stale_temps(tmp_path / "missing") == 0


def test_the_daemon_removes_them_when_it_starts(tmp_path: Path) -> None:
    from tests.helpers import Daemon

    partial = tmp_path / "logs" / "sessions" / SESSION_TEMP_SUBFOLDER
    partial.mkdir(parents=True, mode=0o700)
    stale = partial / ".session_crashed.json.k9k9.tmp"
    stale.write_bytes(b'{"half": ')
    _aged(stale, 7200)
    d = Daemon(root=tmp_path).start()
    try:
        assert not stale.exists()
        assert [e.get("stale_temp_files_removed") for e in d.events("watching")] == [1]
    finally:
        d.stop()
