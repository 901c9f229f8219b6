"""Migration 0011 (the commit of each pipeline run) on a database holding runs written at 0010.

Runs stored before the upgrade survive with every field and an unknown ``sha``; runs stored
after it keep their commit through a load; the downgrade drops the column and keeps the runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, inspect, select

from insights.model import Outcome, Page, PipelineRun
from storage.db import alembic_config, current_revision, upgrade
from storage.pages import save_page
from storage.snapshots import load_snapshot
from tests.conftest import database_at

BEFORE = "0010"
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
OLD_RUNS = [
    {"id": "github:run:1", "team": "alpha", "source": "github", "name": "ci", "branch": "main",
     "outcome": "success", "started_at": T0, "finished_at": T0 + timedelta(minutes=9),
     "url": "https://github.com/acme/api/actions/runs/1", "created_at": T0 - timedelta(minutes=1)},
    {"id": "github:run:2", "team": "beta", "source": "github", "name": "ci", "branch": None,
     "outcome": "failure", "started_at": T0 + timedelta(hours=1), "finished_at": None,
     "url": None, "created_at": None},
]  # fmt: skip


@pytest.fixture(params=DATABASES)
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_at(BEFORE, request.param, tmp_path) as engine:
        with engine.begin() as conn:
            tables = MetaData()
            tables.reflect(conn, only=["pipeline_runs"])
            conn.execute(tables.tables["pipeline_runs"].insert(), OLD_RUNS)
        yield engine


def run_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("pipeline_runs")}


def stored_runs(engine: Engine) -> list[tuple[str, str, str]]:
    """(team, id, outcome) of every stored run, by id: what no revision may lose."""
    tables = MetaData()
    tables.reflect(engine, only=["pipeline_runs"])
    runs = tables.tables["pipeline_runs"]
    with engine.connect() as conn:
        rows = conn.execute(select(runs.c.team, runs.c.id, runs.c.outcome).order_by(runs.c.id))
        return [tuple(row) for row in rows]


def test_the_upgrade_keeps_every_run_with_an_unknown_commit(old_engine: Engine) -> None:
    upgrade(old_engine, "0011")

    assert current_revision(old_engine) == "0011"
    assert "sha" in run_columns(old_engine)
    upgrade(old_engine)  # the loader reads the newest schema
    assert load_snapshot(old_engine, "alpha").pipeline_runs == [
        PipelineRun(
            "github:run:1", "alpha", "github", "ci", "main", Outcome.SUCCESS, T0,
            finished_at=T0 + timedelta(minutes=9),
            url="https://github.com/acme/api/actions/runs/1",
            created_at=T0 - timedelta(minutes=1),
            sha=None,
        )
    ]  # fmt: skip
    assert load_snapshot(old_engine, "beta").pipeline_runs == [
        PipelineRun(
            "github:run:2", "beta", "github", "ci", None, Outcome.FAILURE, T0 + timedelta(hours=1)
        )
    ]


def test_after_the_upgrade_a_run_keeps_its_commit(old_engine: Engine) -> None:
    upgrade(old_engine)
    run = PipelineRun(
        "github:run:1", "alpha", "github", "ci", "main", Outcome.SUCCESS, T0, sha="c0ffee1"
    )

    save_page(old_engine, "alpha/github", Page(pipeline_runs=[run]), T0)

    assert load_snapshot(old_engine, "alpha").pipeline_runs == [run]


def test_the_downgrade_drops_the_commits_and_keeps_the_runs(old_engine: Engine) -> None:
    upgrade(old_engine)
    run = PipelineRun(
        "github:run:3", "alpha", "github", "ci", "main", Outcome.SUCCESS, T0, sha="c0ffee1"
    )
    save_page(old_engine, "alpha/github", Page(pipeline_runs=[run]), T0)
    assert "sha" in run_columns(old_engine)

    command.downgrade(alembic_config(old_engine), BEFORE)

    assert current_revision(old_engine) == BEFORE
    assert "sha" not in run_columns(old_engine)
    assert stored_runs(old_engine) == [
        ("alpha", "github:run:1", "success"),
        ("beta", "github:run:2", "failure"),
        ("alpha", "github:run:3", "success"),
    ]
    upgrade(old_engine)  # and up again: the commit dropped on the way down is unknown
    assert [r.sha for r in load_snapshot(old_engine, "alpha").pipeline_runs] == [None, None]
