"""Tail arithmetic for a growing JSONL file: complete lines only, offsets at line starts.

Field notes: never count a line before its newline (Filebeat); store only the offset just
past the last complete newline (fluent-bit 11265); an over-long line is skipped, not buffered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class TailChunk:
    new_offset: int = 0
    oversize: int = 0
    skipping: bool = False  # inside an over-long line whose newline has not come yet
    data: bytes = b""  # the bytes read, from file offset `base`: a line's body is data[offset - base:][:len(line)]
    base: int = 0
    # data[start:stop] holds every complete line read, newline-separated, without the last
    # newline (stop == -1: none). None of them is over-long unless `lines` was filled eagerly.
    start: int = 0
    stop: int = -1
    _lines: list[tuple[int, bytes]] | None = None

    @property
    def lines(self) -> list[tuple[int, bytes]]:
        """(byte offset of the line, line) for the lines to parse: blank and over-long ones left
        out, a CRLF line's \r stripped. Split on first use (a caller that reads the region whole
        never pays for it)."""
        if self._lines is None:
            self._lines, self.oversize = _split(self.data, self.base, self.start, self.stop, None, self.oversize)
        return self._lines

    @property
    def whole(self) -> bool:
        """True when the complete lines are data[:stop] and none is over-long: the caller may
        parse them all at once (bytes that follow stop are a partial line)."""
        return self.start == 0 and self.stop >= 0 and self._lines is None


def _split(buf: bytes, base: int, start: int, stop: int, max_line: int | None,
           oversize: int) -> tuple[list[tuple[int, bytes]], int]:
    lines: list[tuple[int, bytes]] = []
    if stop < 0:
        return lines, oversize
    # One C-level split, then a short loop (perf/limits_perf.py item 3: this runs once per line).
    append = lines.append
    at = base + start
    for line in buf[start:stop].split(b"\n"):
        n = len(line)
        if max_line is not None and n > max_line:
            oversize += 1
        elif n and not line.isspace():  # isspace: the bytes strip() removes, all of them
            append((at, line[:-1] if line[-1] == 13 else line))  # 13: a CRLF line's \r
        at += n + 1
    return lines, oversize


def read_lines(fd: int, offset: int, skipping: bool, max_line: int, max_chunk: int, end: int | None = None) -> TailChunk:
    """Read from `offset` (at most `max_chunk` bytes, and not past `end` when given) and find
    the complete lines.

    `max_chunk` must exceed `max_line` so that a line that fits always fits in one chunk.
    `end` (the size fstat reported) only saves allocating a `max_chunk` buffer for a small
    file; bytes written after that fstat come with their own change event.
    """
    if max_chunk <= max_line:
        raise ValueError("max_chunk must exceed max_line")
    size = max_chunk if end is None else max(0, min(max_chunk, end - offset))
    buf = os.pread(fd, size, offset) if size else b""
    out = TailChunk(new_offset=offset, skipping=skipping, data=buf, base=offset)
    if not buf:
        return out
    pos = 0
    if skipping:
        newline = buf.find(b"\n")
        if newline == -1:
            out.new_offset = offset + len(buf)
            return out
        pos = newline + 1
        out.skipping = False
    last = buf.rfind(b"\n")
    if last >= pos:
        out.start, out.stop = pos, last
        if last - pos > max_line:  # a line in there may be over-long: count them now
            out._lines, out.oversize = _split(buf, offset, pos, last, max_line, 0)
        pos = last + 1
    if len(buf) - pos > max_line:
        out.oversize += 1  # counted once; its bytes are consumed until its newline
        out.skipping = True
        pos = len(buf)
    out.new_offset = offset + pos
    return out
