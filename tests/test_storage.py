"""Storage round trips on SQLite and PostgreSQL: records, events, cursors, UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, insert, select
from sqlalchemy.exc import StatementError

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    LiveItems,
    Outcome,
    Page,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
)
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot, table_counts
from storage.tables import CURSORS, ITEMS, Base

T0 = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)


def item(key: str, status: str = "In Progress", stage: Stage = Stage.ACTIVE, **kw) -> WorkItem:
    return WorkItem(
        id=f"test:issue:{key}",
        team="t",
        source="test",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Title of {key}",
        status=status,
        stage=stage,
        created_at=T0,
        updated_at=kw.pop("updated_at", T0 + timedelta(days=1)),
        labels=("a", "b"),
        **kw,
    )


def history(key: str, n_transitions: int = 2, **kw) -> ItemHistory:
    it = item(key, **kw)
    transitions = tuple(
        Transition(
            it.id,
            T0 + timedelta(hours=h + 1),
            "Backlog",
            "In Progress",
            Stage.BACKLOG,
            Stage.ACTIVE,
        )
        for h in range(n_transitions)
    )
    flags = (
        FlagChange(it.id, T0 + timedelta(hours=3), True),
        FlagChange(it.id, T0 + timedelta(hours=5), False),
    )
    reviews = (ReviewEvent(it.id, T0 + timedelta(hours=4), ReviewState.APPROVED, "ana"),)
    return ItemHistory(it, transitions, flags, reviews)


def test_page_round_trips_every_record_kind(engine) -> None:
    deploy = Deployment(
        "test:deploy:1",
        "t",
        "test",
        "production",
        Outcome.SUCCESS,
        T0,
        T0 - timedelta(minutes=5),
        "abc123",
        "acme/api",
        ("test:pr:1",),
        production=True,
    )
    run = PipelineRun(
        "test:run:1",
        "t",
        "test",
        "ci",
        "main",
        Outcome.FAILURE,
        T0,
        T0 + timedelta(minutes=7),
        created_at=T0 - timedelta(minutes=1),
    )
    incident = Incident(
        "test:inc:1",
        "t",
        "test",
        "Outage",
        T0,
        resolved_at=T0 + timedelta(hours=2),
        deployment_id=deploy.id,
    )
    page = Page(
        [history("A-1"), history("A-2", n_transitions=3)], [deploy], [run], [incident], cursor="c1"
    )

    counts = save_page(engine, "t/test", page, T0)

    assert (counts.new, counts.updated, counts.events) == (5, 0, 5 + 4 + 2)
    snap = load_snapshot(engine, "t")
    assert [i.key for i in snap.items] == ["A-1", "A-2"]
    assert snap.items[0] == page.histories[0].item
    assert list(snap.transitions["test:issue:A-2"]) == list(page.histories[1].transitions)
    assert list(snap.flags["test:issue:A-1"]) == list(page.histories[0].flags)
    assert list(snap.reviews["test:issue:A-1"]) == list(page.histories[0].reviews)
    assert list(snap.deployments) == [deploy]
    assert list(snap.pipeline_runs) == [run]
    assert list(snap.incidents) == [incident]
    assert load_cursor(engine, "t/test") == "c1"


def test_every_field_of_an_item_and_its_changes_round_trips(engine) -> None:
    pr = WorkItem(
        id="test:pr:acme/api#7",
        team="t",
        source="test",
        key="acme/api#7",
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title="Fix the ledger",
        status="merged",
        stage=Stage.DONE,
        created_at=T0,
        updated_at=T0 + timedelta(days=2),
        resolved_at=T0 + timedelta(days=2),
        assignee="ana",
        url="https://git.invalid/acme/api/pull/7",
        priority="High",
        labels=("bug", "payments"),
        parent_key="PAY-1",
        story_points=2.5,
        blocked_by=("PAY-2",),
        author="ben",
        draft=True,
        merged_at=T0 + timedelta(days=2, microseconds=1),
        first_commit_at=T0 - timedelta(hours=3),
        head_branch="fix/ledger",
        additions=120,
        deletions=7,
        changed_files=3,
        merge_sha="abc123",
        linked_keys=("PAY-1", "INC-9"),
    )
    moves = (
        Transition(pr.id, T0 + timedelta(seconds=1), None, "open", None, Stage.ACTIVE),
        Transition(pr.id, T0 + timedelta(days=2), "open", "merged", Stage.ACTIVE, Stage.DONE),
    )
    save_page(engine, "t/test", Page([ItemHistory(pr, moves)]), T0)

    snap = load_snapshot(engine, "t")

    [loaded] = snap.items
    assert loaded == pr
    assert list(snap.transitions[pr.id]) == list(moves)
    instants = [loaded.created_at, loaded.merged_at, *(t.at for t in snap.transitions[pr.id])]
    assert all(at is not None and at.utcoffset() == timedelta(0) for at in instants)
    assert snap.transitions[pr.id][0].item_id is loaded.id  # shared, not a copy per change


def test_a_reconciliation_removes_vanished_items_from_metrics_but_not_from_the_export(
    engine,
) -> None:
    save_page(engine, "t/test", Page([history("A-1"), history("A-2"), history("B-1")]), T0)
    later = T0 + timedelta(days=3)
    live = LiveItems("t", "test", ("test:issue:A-",), frozenset({"test:issue:A-1"}))

    counts = save_page(engine, "t/test", Page(live_items=live), later)

    assert counts.removed == 1  # A-2 vanished; B-1 is outside the reconciled scope
    assert [i.key for i in load_snapshot(engine, "t").items] == ["A-1", "B-1"]
    everything = {i.key: i for i in load_snapshot(engine, "t", include_removed=True).items}
    assert everything["A-2"].removed_at == later
    assert len(load_snapshot(engine, "t", include_removed=True).transitions["test:issue:A-2"]) == 2
    again = save_page(engine, "t/test", Page(live_items=live), later + timedelta(days=1))
    assert again.removed == 0  # already removed: keeps its first date
    save_page(engine, "t/test", Page([history("A-2")]), later + timedelta(days=2))
    assert [i.key for i in load_snapshot(engine, "t").items] == ["A-1", "A-2", "B-1"]


def test_a_flag_change_timed_from_evidence_keeps_that_mark(engine) -> None:
    it = item("A-1")
    flags = (
        FlagChange(it.id, T0 + timedelta(hours=1), True),
        FlagChange(it.id, T0 + timedelta(hours=2), False),
        FlagChange(it.id, T0 + timedelta(hours=6), True, inferred=True),
    )
    save_page(engine, "t/test", Page([ItemHistory(it, flags=flags)]), T0)

    loaded = load_snapshot(engine, "t").flags[it.id]

    assert [f.inferred for f in loaded] == [False, False, True]
    assert list(loaded) == list(flags)


def test_an_item_listed_live_again_is_back_in_the_metrics(engine) -> None:
    save_page(engine, "t/test", Page([history("A-1"), history("A-2")]), T0)
    prefixes = ("test:issue:A-",)
    missed = LiveItems("t", "test", prefixes, frozenset({"test:issue:A-1"}))
    save_page(engine, "t/test", Page(live_items=missed), T0 + timedelta(days=1))
    assert [i.key for i in load_snapshot(engine, "t").items] == ["A-1"]

    both = LiveItems("t", "test", prefixes, frozenset({"test:issue:A-1", "test:issue:A-2"}))
    counts = save_page(engine, "t/test", Page(live_items=both), T0 + timedelta(days=2))

    assert counts.removed == 0
    assert [i.key for i in load_snapshot(engine, "t").items] == ["A-1", "A-2"]
    assert all(i.removed_at is None for i in load_snapshot(engine, "t").items)


def test_saving_the_same_page_twice_changes_nothing(engine) -> None:
    page = Page([history("A-1"), history("A-2")], cursor="c1")
    save_page(engine, "t/test", page, T0)
    before = table_counts(engine)

    counts = save_page(engine, "t/test", page, T0)

    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 2)
    assert table_counts(engine) == before


def test_rewriting_an_item_replaces_its_events(engine) -> None:
    save_page(engine, "t/test", Page([history("A-1", n_transitions=3)]), T0)
    shorter = history(
        "A-1", n_transitions=1, status="Done", stage=Stage.DONE, updated_at=T0 + timedelta(days=2)
    )

    counts = save_page(engine, "t/test", Page([shorter]), T0)

    assert counts.updated == 1
    snap = load_snapshot(engine, "t")
    assert snap.items[0].status == "Done"
    assert len(snap.transitions["test:issue:A-1"]) == 1


def test_datetimes_come_back_as_the_same_utc_instant(engine) -> None:
    instant = datetime(2021, 1, 25, 11, 9, 27, tzinfo=timezone(timedelta(hours=8)))
    with engine.begin() as conn:
        conn.execute(insert(CURSORS), {"source_key": "k", "cursor": None, "updated_at": instant})
        stored = conn.execute(select(CURSORS.c.updated_at)).scalar_one()
    assert stored == instant
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 3


def test_naive_datetimes_are_refused(engine) -> None:
    with pytest.raises(StatementError, match="naive"), engine.begin() as conn:
        conn.execute(
            insert(CURSORS), {"source_key": "k", "cursor": None, "updated_at": datetime(2026, 1, 1)}
        )


def test_a_failed_page_keeps_neither_records_nor_cursor(engine) -> None:
    save_page(engine, "t/test", Page([history("A-1")], cursor="c1"), T0)

    def lose_the_connection(conn, cursor, statement, *args) -> None:
        if statement.startswith("INSERT INTO histories"):  # after the items were written
            raise ConnectionError("connection lost")

    event.listen(engine, "before_cursor_execute", lose_the_connection)
    with pytest.raises(ConnectionError):
        save_page(engine, "t/test", Page([history("A-2"), history("A-3")], cursor="c2"), T0)
    event.remove(engine, "before_cursor_execute", lose_the_connection)

    assert load_cursor(engine, "t/test") == "c1"
    with engine.connect() as conn:
        assert conn.execute(select(ITEMS.c.key)).scalars().all() == ["A-1"]


def test_migrations_match_the_table_definitions(engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
