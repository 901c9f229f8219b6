"""Shared fixtures: databases (SQLite always, PostgreSQL when VSM_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from bot.cli import cli
from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.sync import sync_teams
from storage.db import make_engine, upgrade

pytest_plugins = ("tests.slack_fixtures",)
POSTGRES_URL = os.environ.get("VSM_TEST_POSTGRES_URL")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "bot" / "demo.yaml"


SCHEMA = f"vsm_test_{os.getpid()}"


def postgres_engine(url: str, schema: str = SCHEMA) -> Engine:
    """An engine on a fresh, empty schema of its own (test processes never share tables)."""
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


_DATABASE_NUMBERS = count()


@contextmanager
def database_at(revision: str, kind: str, folder: Path) -> Iterator[Engine]:
    """A new database (a SQLite file, or a PostgreSQL schema of its own) migrated to ``revision``.

    For the migration tests: write rows as an older schema held them, then upgrade. A
    PostgreSQL database is skipped when none is configured; its schema is dropped afterwards.
    """
    if kind == "postgresql" and not POSTGRES_URL:
        pytest.skip("VSM_TEST_POSTGRES_URL is not set")
    name = f"vsm_test_{os.getpid()}_at_{revision}_{next(_DATABASE_NUMBERS)}"
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / f'{name}.db'}")
    else:
        engine = postgres_engine(str(POSTGRES_URL), name)
    upgrade(engine, revision)
    try:
        yield engine
    finally:
        engine.dispose()
        if kind == "postgresql":
            admin = make_engine(str(POSTGRES_URL))
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        db = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        if not POSTGRES_URL:
            pytest.skip("VSM_TEST_POSTGRES_URL is not set")
        db = postgres_engine(POSTGRES_URL)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    """A migrated SQLite database in a temp folder."""
    db = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def demo_runtime(tmp_path) -> Iterator[Runtime]:
    """A runtime on the packaged demo config, a fresh SQLite file, a fixed clock and no sleep.

    Nothing is synced yet: call ``bot.sync.sync_teams(demo_runtime)`` to load the demo team.
    """
    config = load_config(DEMO_CONFIG, env={})
    runtime = open_runtime(config, database=f"sqlite:///{tmp_path / 'vsm.db'}", clock=lambda: NOW)
    runtime.sleep = lambda seconds: None
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def synced_demo(demo_runtime: Runtime) -> Runtime:
    """The demo runtime with the demo team synced."""
    sync_teams(demo_runtime)
    return demo_runtime


def demo_cli(runtime: Runtime, *args: str) -> Result:
    """``vsm --config <demo> --database <runtime's> ARGS`` at NOW, 160 columns wide."""
    database = str(runtime.engine.url)
    return CliRunner().invoke(
        cli,
        ["--config", str(DEMO_CONFIG), "--database", database, *args],
        obj=lambda: NOW,
        env={"COLUMNS": "160"},
    )
