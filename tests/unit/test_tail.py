"""Tail arithmetic: complete lines only, offsets at line starts, over-long lines skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reevd.ingest.tail import read_lines


def _fd(path: Path, data: bytes) -> int:
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY)


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    """A line without its newline is not returned and the offset stays at its start."""
    fd = _fd(tmp_path / "f", b'{"a":1}\n{"b":')
    try:
        chunk = read_lines(fd, 0, False, 100, 1000)
    finally:
        os.close(fd)
    assert chunk.lines == [(0, b'{"a":1}')]
    assert chunk.new_offset == 8


def test_resumes_from_offset_when_line_completes(tmp_path: Path) -> None:
    """After the writer appends the rest, the next read returns exactly the completed line."""
    path = tmp_path / "f"
    fd = _fd(path, b'{"a":1}\n{"b":')
    with open(path, "ab") as fh:
        fh.write(b"2}\n")
    try:
        chunk = read_lines(fd, 8, False, 100, 1000)
    finally:
        os.close(fd)
    assert chunk.lines == [(8, b'{"b":2}')]
    assert chunk.new_offset == 16


def test_oversize_line_is_counted_and_skipped_across_reads(tmp_path: Path) -> None:
    """A line over the bound is counted once, its bytes consumed until its newline, the next line kept."""
    path = tmp_path / "f"
    fd = _fd(path, b"x" * 50)
    try:
        first = read_lines(fd, 0, False, 10, 40)
        assert first.oversize == 1 and first.skipping and first.lines == []
        with open(path, "ab") as fh:
            fh.write(b"yyy\nok\n")
        second = read_lines(fd, first.new_offset, first.skipping, 10, 40)
    finally:
        os.close(fd)
    assert second.oversize == 0 and not second.skipping
    assert second.lines == [(54, b"ok")]
    assert second.new_offset == 57


def test_blank_lines_and_crlf(tmp_path: Path) -> None:
    """Blank lines are skipped and a trailing carriage return is stripped."""
    fd = _fd(tmp_path / "f", b"\n{}\r\n\n")
    try:
        chunk = read_lines(fd, 0, False, 100, 1000)
    finally:
        os.close(fd)
    assert chunk.lines == [(1, b"{}")]
    assert chunk.new_offset == 6


def test_chunk_must_exceed_line_bound(tmp_path: Path) -> None:
    """A chunk no larger than the line bound could stall on a legal line, so it is refused."""
    fd = _fd(tmp_path / "f", b"")
    try:
        with pytest.raises(ValueError):
            read_lines(fd, 0, False, 100, 100)
    finally:
        os.close(fd)
