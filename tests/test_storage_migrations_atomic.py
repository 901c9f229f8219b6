"""Migrations are all-or-nothing: a kill part-way on SQLite, and processes racing on PostgreSQL.

A first migration killed after some of its tables were created used to leave them behind with no
``alembic_version``, so every later command failed on ``table cursors already exists``; and two
processes starting together on a fresh PostgreSQL schema collided on ``alembic_version``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage.db import current_revision, make_engine, upgrade
from tests.conftest import POSTGRES_URL, postgres_engine

ROOT = Path(__file__).resolve().parent.parent
KILLED_MIGRATION = """
import os, signal, sys
from alembic import op
from storage.db import make_engine, upgrade

create_table, created = op.create_table, []

def create_then_die(*args, **kwargs):
    create_table(*args, **kwargs)
    created.append(args[0])
    if len(created) == 3:  # three tables exist in the transaction when the process dies
        os.kill(os.getpid(), signal.SIGKILL)

op.create_table = create_then_die
upgrade(make_engine(sys.argv[1]))
print("not killed")
"""
MIGRATE = """
import sys
from storage.db import make_engine, upgrade
upgrade(make_engine(sys.argv[1], connect_args={"options": f"-csearch_path={sys.argv[2]}"}))
"""


def python(script: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_first_migration_killed_part_way_on_sqlite_leaves_nothing_behind(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'vsm.db'}"
    killed = python(KILLED_MIGRATION, url)
    output, _ = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, output

    engine = make_engine(url)
    assert inspect(engine).get_table_names() == [], "the killed migration left tables behind"
    upgrade(engine)  # and the next start migrates cleanly
    assert current_revision(engine) is not None
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="VSM_TEST_POSTGRES_URL is not set")
def test_processes_starting_together_on_a_fresh_postgresql_schema_all_migrate() -> None:
    schema = f"vsm_race_{os.getpid()}"
    postgres_engine(POSTGRES_URL, schema).dispose()  # a fresh, empty schema
    racers = [python(MIGRATE, POSTGRES_URL, schema) for _ in range(6)]
    results = [(racer.wait(timeout=120), racer.stdout.read()) for racer in racers]

    assert [code for code, _ in results] == [0] * 6, results
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    assert current_revision(engine) is not None
    engine.dispose()
    postgres_engine(POSTGRES_URL, schema).dispose()  # dropped and recreated empty: no leftovers
