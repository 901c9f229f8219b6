"""Engines and schema migrations: one URL selects SQLite (the default) or PostgreSQL.

SQLite gets WAL, foreign keys and a busy timeout on every connection; ``postgresql://`` URLs use
the psycopg 3 driver. :func:`upgrade` applies the Alembic migrations in ``storage/migrations``
(``vsm db upgrade``, and automatically when the bot or a sync starts). Any other URL is refused
with :class:`DatabaseUrlError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 64 * 1024
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
URL_EXAMPLES = "sqlite:///path/to/vsm.db or postgresql://user@host/database"


class DatabaseUrlError(ValueError):
    """A database URL vsm cannot use; the message says what to write instead."""


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare ``postgresql://`` / ``postgres://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder created and sane pragmas."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:  # the URL is not echoed: it may hold a password
        raise DatabaseUrlError(f"the database URL cannot be parsed; write {URL_EXAMPLES}") from None
    if parsed.drivername not in DRIVERS:
        raise DatabaseUrlError(
            f"{parsed.drivername}:// databases are not supported; write {URL_EXAMPLES}"
        )
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        event.listen(engine, "connect", _postgres_session)
        return engine
    if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    """Sessions speak UTC, so timestamps arrive as UTC instants without conversion."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reading a large team walks the event index in order; a memory map and a bigger page cache
    # keep that from turning into a system call per page.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def conflict_insert(conn: Connection, table: Table) -> Any:
    """An ``INSERT`` into ``table`` taking ``ON CONFLICT`` clauses, in this database's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {conn.dialect.name!r}")  # pragma: no cover


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision``, all of them in one transaction.

    pysqlite commits each ``CREATE``/``ALTER`` on its own, so on SQLite the migrations run on a
    connection of their own that issues ``BEGIN IMMEDIATE`` itself: a migration killed part-way
    (or stopped by a full disk) leaves the schema as it was, and a second process waits for the
    first. On PostgreSQL the migrations take a transaction-level advisory lock keyed by the
    schema (``storage/migrations/env.py``), so processes starting together on a fresh database
    migrate one after the other.
    """
    if engine.dialect.name != "sqlite":
        command.upgrade(alembic_config(engine), revision)
        return
    migrating = _transactional_sqlite(engine)
    try:
        command.upgrade(alembic_config(migrating), revision)
    finally:
        migrating.dispose()


def _transactional_sqlite(engine: Engine) -> Engine:
    """An engine on ``engine``'s SQLite file whose transactions cover DDL too."""
    migrating = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(migrating, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # the driver stops managing transactions

    @event.listens_for(migrating, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return migrating


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
