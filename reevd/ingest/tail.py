"""Tail arithmetic for a growing JSONL file: complete lines only, offsets at line starts.

Field notes: never count a line before its newline (Filebeat); store only the offset just
past the last complete newline (fluent-bit 11265); an over-long line is skipped, not buffered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class TailChunk:
    lines: list[tuple[int, bytes]] = field(default_factory=list)  # (byte offset of the line, line)
    new_offset: int = 0
    oversize: int = 0
    skipping: bool = False  # inside an over-long line whose newline has not come yet
    data: bytes = b""  # the bytes read, from file offset `base`: a line's body is data[offset - base:][:len(line)]
    base: int = 0


def read_lines(fd: int, offset: int, skipping: bool, max_line: int, max_chunk: int, end: int | None = None) -> TailChunk:
    """Read from `offset` (at most `max_chunk` bytes, and not past `end` when given) and split
    off the complete lines.

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
        # One C-level split, then a short loop (perf/limits_perf.py item 3: this runs once per line).
        lines = out.lines
        at = offset + pos
        oversize = 0
        append = lines.append
        for line in buf[pos:last].split(b"\n"):
            n = len(line)
            if n > max_line:
                oversize += 1
            elif n and not line.isspace():  # isspace: the bytes strip() removes, all of them
                append((at, line[:-1] if line[-1] == 13 else line))  # 13: a CRLF line's \r
            at += n + 1
        out.oversize = oversize
        pos = last + 1
    if len(buf) - pos > max_line:
        out.oversize += 1  # counted once; its bytes are consumed until its newline
        out.skipping = True
        pos = len(buf)
    out.new_offset = offset + pos
    return out
