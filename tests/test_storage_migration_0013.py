"""Migration 0013 (an item's releases and due date, plans, scopes tracked from Slack).

The upgrade adds columns to ``items`` in place: every item keeps its history (on SQLite a copy of
the table would cascade to the histories that refer to it). Items stored before it have no
releases and no due date; those stored after keep theirs; the downgrade drops the columns and the
tables and keeps every item and its history.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from insights.model import Page, Plan
from storage.db import alembic_config, current_revision, upgrade
from storage.pages import save_page
from storage.snapshots import load_snapshot
from tests.conftest import database_at
from tests.test_storage_vendor_text import T0, issue, moved

BEFORE = "0012"
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database at 0012 (the second test brings rows down to it, and back up)."""
    with database_at(BEFORE, request.param, tmp_path) as engine:
        yield engine


def item_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("items")}


def stored_at_head(engine: Engine) -> None:
    """An item with its history, releases and due date, and a release plan, stored at head."""
    item = issue("PAY-1", releases=("2.3",), due_on=date(2027, 1, 15))
    plan = Plan("t", "jira", "release", "2.3", "2.3", due_on=date(2027, 1, 20))
    save_page(engine, "t/jira", Page([moved(item)], plans=[plan]), T0)


def test_the_upgrade_keeps_every_history_and_later_items_keep_their_releases(
    old_engine: Engine,
) -> None:
    upgrade(old_engine)
    save_page(old_engine, "t/jira", Page([moved(issue("PAY-0"))]), T0)
    stored_at_head(old_engine)

    snapshot = load_snapshot(old_engine, "t")
    assert {i.key: (i.releases, i.due_on) for i in snapshot.items} == {
        "PAY-0": ((), None),
        "PAY-1": (("2.3",), date(2027, 1, 15)),
    }
    assert sorted(snapshot.transitions) == ["jira:issue:PAY-0", "jira:issue:PAY-1"]
    assert [(p.kind, p.key, p.due_on) for p in snapshot.plans] == [
        ("release", "2.3", date(2027, 1, 20))
    ]


def test_the_downgrade_drops_what_0013_added_and_keeps_every_item_and_history(
    old_engine: Engine,
) -> None:
    upgrade(old_engine)
    stored_at_head(old_engine)

    command.downgrade(alembic_config(old_engine), BEFORE)

    assert current_revision(old_engine) == BEFORE
    assert {"releases", "due_on"}.isdisjoint(item_columns(old_engine))
    assert {"plans", "tracked_scopes"}.isdisjoint(inspect(old_engine).get_table_names())
    upgrade(old_engine)  # and up again: the item and its history survive it, its releases not
    snapshot = load_snapshot(old_engine, "t")
    assert [(i.key, i.releases, i.due_on) for i in snapshot.items] == [("PAY-1", (), None)]
    assert list(snapshot.transitions) == ["jira:issue:PAY-1"]
