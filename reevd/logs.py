"""Logging, configured once from the entry point: JSON lines when not a terminal, readable on one."""

from __future__ import annotations

import logging
import os
import sys
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


def _scrub(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
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
