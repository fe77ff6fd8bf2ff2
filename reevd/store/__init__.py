"""The state store: one SQLite file, one writer thread, a reader connection. Only this package runs SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import structlog

from reevd.store.reader import ExecutionFilter, Reader
from reevd.store.schema import MIGRATIONS
from reevd.store.writer import Writer

__all__ = ["ExecutionFilter", "Reader", "Store", "Writer", "DatabaseTooNew"]

log = structlog.get_logger("reevd.store")


class DatabaseTooNew(RuntimeError):
    pass


# OTEL events are inserted through json_each() and ->> (perf): both need SQLite 3.38.
MIN_SQLITE = (3, 38, 0)
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")


def check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: reevd needs {'.'.join(map(str, MIN_SQLITE))} or newer")


def configure_writer(conn: sqlite3.Connection) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version (runs on the writer thread)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise DatabaseTooNew(f"database schema v{version} is newer than this reevd (v{len(MIGRATIONS)})")
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in (s.strip() for s in sql.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("db_migrated", version=number)
    return len(MIGRATIONS)


class Store:
    """Owns the writer and the read connection. Open with `await Store.open(path)`, release with `await store.close()`."""

    def __init__(self, path: Path, writer: Writer, read_conn: aiosqlite.Connection) -> None:
        self.path = path
        self.writer = writer
        self.reader = Reader(read_conn)
        self._read_conn = read_conn

    @classmethod
    async def open(cls, path: Path) -> "Store":
        check_sqlite_version()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = Writer(path, configure_writer)
        await writer.start()
        try:
            await writer.call(migrate)
            read_conn = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            await writer.close()
            raise
        try:
            for pragma in PRAGMAS[1:]:
                await read_conn.execute(pragma)
            await read_conn.execute("PRAGMA query_only=1")
        except BaseException:
            await read_conn.close()  # aiosqlite's thread is non-daemon: never leak it
            await writer.close()
            raise
        return cls(path, writer, read_conn)

    async def close(self) -> None:
        try:
            await self.writer.close()
        finally:
            await self._read_conn.close()
