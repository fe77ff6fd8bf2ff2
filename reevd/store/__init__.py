"""The state store: one SQLite file, one writer task, a reader connection. Only this package runs SQL."""

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


def check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: reevd needs {'.'.join(map(str, MIN_SQLITE))} or newer")


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA busy_timeout=5000")


async def migrate(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    if version > len(MIGRATIONS):
        raise DatabaseTooNew(f"database schema v{version} is newer than this reevd (v{len(MIGRATIONS)})")
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in (s.strip() for s in sql.split(";")):
                if statement:
                    await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        log.info("db_migrated", version=number)
    return len(MIGRATIONS)


class Store:
    """Owns both connections. Open with `await Store.open(path)`, release with `await store.close()`."""

    def __init__(self, path: Path, write_conn: aiosqlite.Connection, read_conn: aiosqlite.Connection) -> None:
        self.path = path
        self.writer = Writer(write_conn)
        self.reader = Reader(read_conn)
        self._write_conn = write_conn
        self._read_conn = read_conn

    @classmethod
    async def open(cls, path: Path) -> "Store":
        check_sqlite_version()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _configure(write_conn)
            await migrate(write_conn)
            read_conn = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            await write_conn.close()  # aiosqlite's thread is non-daemon: never leak it
            raise
        await _configure(read_conn)
        await read_conn.execute("PRAGMA query_only=1")
        store = cls(path, write_conn, read_conn)
        store.writer.start()
        return store

    async def close(self) -> None:
        try:
            await self.writer.close()
        finally:
            await self._read_conn.close()
            await self._write_conn.close()
