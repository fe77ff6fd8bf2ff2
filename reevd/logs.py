"""Logging, configured once from the entry point: JSON lines when not a terminal, readable on one."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog


def printable_text(text: str) -> str:
    """`text` as valid UTF-8: bytes a file name held that are not UTF-8 become \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name produced
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _scrub(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Structlog processor: every string field printable, whichever renderer follows."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = printable_text(value)
    return event_dict


def _printable(value: Any) -> Any:
    """A value orjson can write: text with undecodable bytes (surrogate escapes from file names)
    shown as \\x.. escapes; anything else it cannot write as its repr."""
    if isinstance(value, str):
        return printable_text(value)
    if isinstance(value, dict):
        return {_printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _printable(repr(value))


def dumps_any(obj: Any, **kwargs: Any) -> bytes:
    """orjson.dumps that never fails: every log line must be renderable whatever a name holds."""
    try:
        return orjson.dumps(obj, **kwargs)
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps(_printable(obj), **kwargs)


FLOOD_INTERVAL_S = 10.0


class OncePerInterval(logging.Filter):
    """Library log records: a client's malformed request becomes one warning line without a
    traceback, and the same message is let through once per interval with a count of the
    rest (a descriptor flood or a slowloris must not write hundreds of MB of log)."""

    def __init__(self, interval_s: float = FLOOD_INTERVAL_S) -> None:
        super().__init__()
        self._interval = interval_s
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):  # the client's fault, answered with a 4xx: not our error
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = f"bad request refused: {exc.code} {printable_text(str(exc.message))[:200]}", None
            record.exc_info, record.exc_text = None, None
        key = f"{record.name}:{record.msg if isinstance(record.msg, str) else type(record.msg).__name__}"[:300]
        now = time.monotonic()
        last, suppressed = self._seen.get(key, (-math.inf, 0))
        if now - last < self._interval:
            self._seen[key] = (last, suppressed + 1)
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} more like this in the last {self._interval:g} s)"
            record.args = None
        return True


def configure_logging(level: str = "info") -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    on_terminal = sys.stdout.isatty()
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _scrub,
    ]
    if not under_journald:  # journald stamps every line itself
        processors.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
    if on_terminal:
        processors.append(structlog.dev.ConsoleRenderer())
        logger_factory: structlog.typing.WrappedLogger = structlog.PrintLoggerFactory()
    else:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(serializer=dumps_any)]
        logger_factory = structlog.BytesLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    # Libraries (aiohttp, watchdog) log through stdlib: warnings and up, to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    flood = OncePerInterval()
    for name in ("aiohttp.server", "aiohttp.web", "asyncio"):
        logging.getLogger(name).addFilter(flood)
