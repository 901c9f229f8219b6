"""Migration 0010 (packed histories) on databases holding event rows written at revision 0009.

Every event survives with its item and team, in order: the snapshot loaded after the upgrade is
the one the row tables gave before it (its events read here as the code of 0009 read them), so
``vsm export`` prints the same bytes and the report the same JSON. The downgrade gives the rows
back as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, select

from bot.export import export_records
from insights.agreements import Agreements
from insights.model import (
    FlagChange,
    ItemHistory,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
)
from insights.report import build_report
from insights.report_json import report_to_json
from storage.db import alembic_config, current_revision, make_engine, upgrade
from storage.pages import item_to_row
from storage.snapshots import load_snapshot
from tests.conftest import database_at
from tests.history_strategies import T0, histories, item, snapshot_of

HEAD = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()
"""The newest revision: the upgrade from 0009 goes all the way."""

BEFORE = "0009"
HOUR = timedelta(hours=1)
EVENTS = ("transitions", "flags", "reviews")
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_at(BEFORE, request.param, tmp_path) as engine:
        yield engine


def write_rows(engine: Engine, saved: list[ItemHistory]) -> None:
    """Store ``saved`` as the code of 0009 did: item rows, then one row per event by ``seq``."""
    tables = MetaData()
    tables.reflect(engine)
    items = [item_to_row(h.item) for h in saved]
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in EVENTS}
    for h in saved:
        owner = {"team": h.item.team, "item_id": h.item.id}
        for seq, t in enumerate(h.transitions):
            stages = {
                "from_stage": t.from_stage and t.from_stage.value,
                "to_stage": t.to_stage.value,
            }
            moves = {"from_status": t.from_status, "to_status": t.to_status, **stages}
            rows["transitions"].append({**owner, "seq": seq, "at": t.at, **moves})
        for seq, f in enumerate(h.flags):
            flag = {"flagged": f.flagged, "inferred": f.inferred}
            rows["flags"].append({**owner, "seq": seq, "at": f.at, **flag})
        for seq, r in enumerate(h.reviews):
            review = {"state": r.state.value, "reviewer": r.reviewer}
            rows["reviews"].append({**owner, "seq": seq, "at": r.at, **review})
    with engine.begin() as conn:
        if items:
            conn.execute(tables.tables["items"].insert(), items)
        for kind, kind_rows in rows.items():
            if kind_rows:
                conn.execute(tables.tables[kind].insert(), kind_rows)


def utc(value: datetime) -> datetime:
    """A timestamp as the row tables gave it (naive UTC on SQLite), as an aware UTC instant."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored_events(engine: Engine, team: str) -> dict[str, dict[str, list[Any]]]:
    """The events of ``team`` as revision 0009 read them: by item, in ``seq`` order."""
    tables = MetaData()
    tables.reflect(engine, only=EVENTS)
    build = {
        "transitions": lambda r: Transition(
            r.item_id,
            utc(r.at),
            r.from_status,
            r.to_status,
            r.from_stage and Stage(r.from_stage),
            Stage(r.to_stage),
        ),
        "flags": lambda r: FlagChange(r.item_id, utc(r.at), bool(r.flagged), bool(r.inferred)),
        "reviews": lambda r: ReviewEvent(r.item_id, utc(r.at), ReviewState(r.state), r.reviewer),
    }
    events: dict[str, dict[str, list[Any]]] = {kind: {} for kind in EVENTS}
    with engine.connect() as conn:
        for kind in EVENTS:
            table = tables.tables[kind]
            query = select(table).where(table.c.team == team).order_by(table.c.item_id, table.c.seq)
            for row in conn.execute(query):
                events[kind].setdefault(row.item_id, []).append(build[kind](row))
    return events


def row_based(engine: Engine, team: str, saved: list[ItemHistory], live: set[str]) -> Snapshot:
    """The snapshot revision 0009 gave of ``team``'s ``live`` items: their events from the rows."""
    events = stored_events(engine, team)
    return Snapshot(
        team=team,
        items=sorted(
            (h.item for h in saved if h.item.team == team and h.item.id in live),
            key=lambda i: i.id,
        ),
        deployments=[],
        pipeline_runs=[],
        incidents=[],
        **{kind: {k: v for k, v in events[kind].items() if k in live} for kind in EVENTS},
    )


def export_lines(snapshot: Snapshot) -> list[str]:
    """What ``vsm export`` prints of a snapshot."""
    return [json.dumps(record, separators=(",", ":")) for record in export_records(snapshot)]


def report(snapshot: Snapshot) -> dict[str, Any]:
    return report_to_json(build_report(snapshot, Agreements(wip_limit=2), T0, UTC, 30))


def shared_and_odd_histories() -> list[ItemHistory]:
    """Two teams holding one item with their own stages, and the edge cases of an event."""
    histories = []
    for team, stage in (("alpha", Stage.ACTIVE), ("beta", Stage.WAITING)):
        work_item = item(team, 1)
        histories.append(
            ItemHistory(
                work_item,
                (
                    Transition(work_item.id, T0, None, "Ready ✓", None, Stage.BACKLOG),
                    Transition(work_item.id, T0 + HOUR, "Ready ✓", "Doing", Stage.BACKLOG, stage),
                ),
                (FlagChange(work_item.id, T0 + timedelta(minutes=5, microseconds=1), True, True),),
                (ReviewEvent(work_item.id, T0, ReviewState.REQUESTED, None),),
            )
        )  # fmt: skip
    histories.append(ItemHistory(item("alpha", 2)))  # no events at all
    removed = replace(item("alpha", 3), removed_at=T0)  # at its vendor: the export keeps it
    histories.append(
        ItemHistory(removed, (Transition(removed.id, T0, "Doing", "Done", None, Stage.DONE),))
    )
    return histories


def test_the_upgrade_keeps_every_event_of_every_team_in_order(old_engine: Engine) -> None:
    saved = shared_and_odd_histories()
    write_rows(old_engine, saved)
    alive = {"test:issue:K-1", "test:issue:K-2"}
    before = {
        ("alpha", False): row_based(old_engine, "alpha", saved, alive),
        ("alpha", True): row_based(old_engine, "alpha", saved, {*alive, "test:issue:K-3"}),
        ("beta", False): row_based(old_engine, "beta", saved, {"test:issue:K-1"}),
    }

    upgrade(old_engine)

    assert current_revision(old_engine) == HEAD
    for (team, include_removed), snapshot in before.items():
        loaded = load_snapshot(old_engine, team, include_removed=include_removed)
        assert loaded == snapshot
        assert export_lines(loaded) == export_lines(snapshot)
    assert before["alpha", False].transitions["test:issue:K-1"][1].to_stage is Stage.ACTIVE
    assert before["beta", False].transitions["test:issue:K-1"][1].to_stage is Stage.WAITING


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.parametrize("kind", DATABASES)
def test_random_histories_give_the_same_snapshot_export_and_report(
    kind: str, tmp_path: Path, data: st.DataObject
) -> None:
    saved = data.draw(histories("alpha"))
    with database_at(BEFORE, kind, tmp_path) as engine:
        write_rows(engine, saved)
        before = row_based(engine, "alpha", saved, {h.item.id for h in saved})
        assert before == snapshot_of("alpha", saved)  # the rows were written and read back whole

        upgrade(engine)

        after = load_snapshot(engine, "alpha", include_removed=True)
    assert after == before
    assert export_lines(after) == export_lines(before)
    assert report(after) == report(before)


def test_the_downgrade_gives_the_rows_back(old_engine: Engine) -> None:
    saved = shared_and_odd_histories()
    write_rows(old_engine, saved)
    before = {team: stored_events(old_engine, team) for team in ("alpha", "beta")}
    upgrade(old_engine)

    command.downgrade(alembic_config(old_engine), BEFORE)

    assert current_revision(old_engine) == BEFORE
    assert {team: stored_events(old_engine, team) for team in ("alpha", "beta")} == before
    upgrade(old_engine)
    assert load_snapshot(old_engine, "beta") == snapshot_of(
        "beta", [h for h in saved if h.item.team == "beta"]
    )
