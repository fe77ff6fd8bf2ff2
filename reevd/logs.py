"""Logging, configured once from the entry point: JSON lines when not a terminal, readable on one."""

from __future__ import annotations

import logging
import os
import sys

import orjson
import structlog


def configure_logging(level: str = "info") -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    on_terminal = sys.stdout.isatty()
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    if not under_journald:  # journald stamps every line itself
        processors.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
    if on_terminal:
        processors.append(structlog.dev.ConsoleRenderer())
        logger_factory: structlog.typing.WrappedLogger = structlog.PrintLoggerFactory()
    else:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(serializer=orjson.dumps)]
        logger_factory = structlog.BytesLoggerFactory()
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    # Libraries (aiohttp, watchdog) log through stdlib: warnings and up, to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
