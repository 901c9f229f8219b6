"""Migration 0008 (records per team) on a database holding rows written at the revision before it.

Every row survives with the team it was stored with; afterwards a second team can store its own
copy of the same records. The downgrade keeps one copy of each record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from conftest import POSTGRES_URL, postgres_engine
from sqlalchemy import Engine, MetaData, func, select

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    Outcome,
    Page,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
)
from storage.db import alembic_config, current_revision, make_engine, upgrade
from storage.health import load_health
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot, table_counts

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EVENTS = ("transitions", "flags", "reviews")
ITEM = "jira:issue:PAY-1"
OTHER = "jira:issue:PAY-2"


def previous_revision(engine: Engine) -> str:
    down = ScriptDirectory.from_config(alembic_config(engine)).get_revision("0008").down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at the revision before 0008."""
    if request.param == "sqlite":
        db = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        if not POSTGRES_URL:
            pytest.skip("VSM_TEST_POSTGRES_URL is not set")
        db = postgres_engine(POSTGRES_URL)
    upgrade(db, previous_revision(db))
    yield db
    db.dispose()


def item_row(item_id: str, key: str) -> dict:
    return {
        "id": item_id,
        "team": "alpha",
        "source": "jira",
        "key": key,
        "kind": "issue",
        "type": "Story",
        "title": f"Title of {key}",
        "status": "Code Review",
        "stage": "active",
        "created_at": T0,
        "updated_at": T0 + timedelta(days=1),
        "assignee": "Ana",
        "labels": ["a"],
        "blocked_by": [],
        "draft": False,
        "linked_keys": [],
    }


def write_old_rows(engine: Engine) -> None:
    """Rows as the code of the previous revision wrote them (id-keyed, events without team)."""
    tables = MetaData()
    tables.reflect(engine)
    rows = {
        "items": [item_row(ITEM, "PAY-1"), item_row(OTHER, "PAY-2")],
        "transitions": [
            {"item_id": ITEM, "seq": s, "at": T0 + timedelta(hours=s), "from_status": "Doing",
             "to_status": "Code Review", "from_stage": "active", "to_stage": "active"}
            for s in range(2)
        ],
        "flags": [{"item_id": ITEM, "seq": 0, "at": T0, "flagged": True, "inferred": True}],
        "reviews": [
            {"item_id": OTHER, "seq": 0, "at": T0, "state": "approved", "reviewer": "ben"}
        ],
        "deployments": [
            {"id": "d:1", "team": "alpha", "source": "github", "environment": "prod",
             "outcome": "success", "finished_at": T0, "shipped_item_ids": [OTHER],
             "production": True}
        ],
        "pipeline_runs": [
            {"id": "r:1", "team": "alpha", "source": "github", "name": "ci", "branch": "main",
             "outcome": "failure", "started_at": T0}
        ],
        "incidents": [
            {"id": "i:1", "team": "alpha", "source": "pagerduty", "title": "Outage",
             "created_at": T0, "deployment_id": "d:1"}
        ],
        "cursors": [{"source_key": "alpha/jira", "cursor": "c7", "updated_at": T0}],
        "source_health": [
            {"source_key": "alpha/jira", "team": "alpha", "source": "jira",
             "consecutive_failures": 0, "records_seen": 2, "skipped": 0,
             "unmapped_statuses": []}
        ],
    }  # fmt: skip
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            conn.execute(tables.tables[name].insert(), table_rows)


def event_teams(engine: Engine) -> dict[str, list[str]]:
    """The teams the rows of each event table belong to (revisions 0008 and 0009)."""
    tables = MetaData()
    tables.reflect(engine, only=EVENTS)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(tables.tables[name].c.team).distinct()).scalars().all()
            for name in EVENTS
        }


def row_counts(engine: Engine, *names: str) -> dict[str, int]:
    tables = MetaData()
    tables.reflect(engine, only=names)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(tables.tables[name])).scalar_one()
            for name in names
        }


def test_the_upgrade_keeps_every_row_with_its_team(old_engine: Engine) -> None:
    write_old_rows(old_engine)

    upgrade(old_engine, "0008")

    assert current_revision(old_engine) == "0008"
    assert event_teams(old_engine) == {name: ["alpha"] for name in EVENTS}
    upgrade(old_engine)  # to the packed histories of 0010, which the loader reads
    snapshot = load_snapshot(old_engine, "alpha")
    assert [(i.id, i.team, i.assignee, i.labels) for i in snapshot.items] == [
        (ITEM, "alpha", "Ana", ("a",)),
        (OTHER, "alpha", "Ana", ("a",)),
    ]
    assert list(snapshot.transitions[ITEM]) == [
        Transition(
            ITEM, T0 + timedelta(hours=s), "Doing", "Code Review", Stage.ACTIVE, Stage.ACTIVE
        )
        for s in range(2)
    ]
    assert list(snapshot.flags[ITEM]) == [FlagChange(ITEM, T0, True, inferred=True)]
    assert list(snapshot.reviews[OTHER]) == [ReviewEvent(OTHER, T0, ReviewState.APPROVED, "ben")]
    assert snapshot.deployments == [
        Deployment(
            "d:1", "alpha", "github", "prod", Outcome.SUCCESS, T0,
            shipped_item_ids=(OTHER,), production=True,
        )
    ]  # fmt: skip
    assert snapshot.pipeline_runs == [
        PipelineRun("r:1", "alpha", "github", "ci", "main", Outcome.FAILURE, T0)
    ]
    assert snapshot.incidents == [
        Incident("i:1", "alpha", "pagerduty", "Outage", T0, deployment_id="d:1")
    ]
    assert load_cursor(old_engine, "alpha/jira") == "c7"
    assert [h.records_seen for h in load_health(old_engine, "alpha")] == [2]


def beta_copy() -> ItemHistory:
    item = WorkItem(
        id=ITEM,
        team="beta",
        source="jira",
        key="PAY-1",
        kind=ItemKind.ISSUE,
        type="Story",
        title="Title of PAY-1",
        status="Code Review",
        stage=Stage.WAITING,
        created_at=T0,
        updated_at=T0 + timedelta(days=1),
    )
    return ItemHistory(item, (Transition(ITEM, T0, None, "Code Review", None, Stage.WAITING),))


def test_after_the_upgrade_a_second_team_adds_its_own_copy(old_engine: Engine) -> None:
    write_old_rows(old_engine)
    upgrade(old_engine)
    before = load_snapshot(old_engine, "alpha")

    save_page(old_engine, "beta/jira", Page([beta_copy()]), T0)

    assert load_snapshot(old_engine, "alpha") == before
    assert [i.stage for i in load_snapshot(old_engine, "beta").items] == [Stage.WAITING]


def test_the_downgrade_keeps_the_first_teams_copy(old_engine: Engine) -> None:
    write_old_rows(old_engine)
    upgrade(old_engine)
    save_page(old_engine, "beta/jira", Page([beta_copy()]), T0)
    counts = table_counts(old_engine)

    command.downgrade(alembic_config(old_engine), previous_revision(old_engine))

    after = row_counts(old_engine, "items", "transitions")
    assert after["items"] == counts["items"] - 1
    assert after["transitions"] == counts["transitions"] - 1  # beta's change went with its copy
    upgrade(old_engine)
    assert [len(load_snapshot(old_engine, team).items) for team in ("alpha", "beta")] == [2, 0]
