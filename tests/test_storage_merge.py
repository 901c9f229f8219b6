"""A page marked ``merge_histories`` (a CSV re-import) adds to an item's history, never erases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from insights.model import (
    FlagChange,
    ItemHistory,
    ItemKind,
    Page,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
)
from storage.pages import save_page
from storage.snapshots import load_snapshot, table_counts

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ID = "csv:issue:PAY-1"


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def pay1(status: str, stage: Stage, updated: int, created: int = 0) -> WorkItem:
    return WorkItem(
        id=ID,
        team="payments",
        source="csv",
        key="PAY-1",
        kind=ItemKind.ISSUE,
        type="Story",
        title="Refund endpoint",
        status=status,
        stage=stage,
        created_at=at(created),
        updated_at=at(updated),
    )


def move(hours: int, old: str, new: str, stage: Stage) -> Transition:
    return Transition(ID, at(hours), old, new, Stage.ACTIVE, stage)


FIRST = ItemHistory(
    pay1("Code Review", Stage.ACTIVE, 5),
    (
        move(1, "Backlog", "In Progress", Stage.ACTIVE),
        move(5, "In Progress", "Code Review", Stage.ACTIVE),
    ),
    (FlagChange(ID, at(2), True), FlagChange(ID, at(3), False)),
    (ReviewEvent(ID, at(5), ReviewState.REQUESTED, "ana"),),
)
LATER = ItemHistory(
    pay1("Done", Stage.DONE, 30, created=5),
    (
        move(5, "In Progress", "Code Review", Stage.ACTIVE),
        move(30, "Code Review", "Done", Stage.DONE),
    ),
    (FlagChange(ID, at(3), False), FlagChange(ID, at(20), True)),
    (ReviewEvent(ID, at(4), ReviewState.APPROVED, "ben"),),
)
"""A later file: it starts later, repeats one change of each kind and adds new ones, some out of
order."""


def test_a_merged_reimport_keeps_the_stored_history_and_adds_the_new_events(
    engine: Engine,
) -> None:
    save_page(engine, "payments/csv", Page([FIRST], merge_histories=True), T0)

    save_page(engine, "payments/csv", Page([LATER], merge_histories=True), at(31))

    snapshot = load_snapshot(engine, "payments")
    assert [(i.status, i.created_at) for i in snapshot.items] == [("Done", T0)]
    assert [(t.at, t.to_status) for t in snapshot.transitions[ID]] == [
        (at(1), "In Progress"),
        (at(5), "Code Review"),
        (at(30), "Done"),
    ]
    assert [(f.at, f.flagged) for f in snapshot.flags[ID]] == [
        (at(2), True),
        (at(3), False),
        (at(20), True),
    ]
    assert [(r.at, r.state) for r in snapshot.reviews[ID]] == [
        (at(4), ReviewState.APPROVED),
        (at(5), ReviewState.REQUESTED),
    ]


def test_merging_the_same_file_twice_changes_nothing(engine: Engine) -> None:
    save_page(engine, "payments/csv", Page([FIRST], merge_histories=True), T0)
    before = table_counts(engine)

    save_page(engine, "payments/csv", Page([FIRST], merge_histories=True), T0)

    assert table_counts(engine) == before
    assert len(load_snapshot(engine, "payments").transitions[ID]) == 2


def test_a_page_without_the_mark_still_replaces_the_history(engine: Engine) -> None:
    save_page(engine, "payments/csv", Page([FIRST]), T0)

    save_page(engine, "payments/csv", Page([LATER]), at(31))

    assert [t.at for t in load_snapshot(engine, "payments").transitions[ID]] == [at(5), at(30)]
