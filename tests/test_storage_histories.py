"""Packed histories: what is saved is loaded back exactly, on SQLite and PostgreSQL.

Each item's events are stored as one packed row and their texts in one dictionary per team
(``storage.histories``); the snapshot built from them must be the one the row-per-event tables
gave, which is the saved histories as they were saved.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import count

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from insights.model import ItemHistory, Page, Stage, Transition
from storage.histories import EPOCH, STRINGS, utc_datetimes
from storage.pages import save_page, write_histories
from storage.snapshots import load_snapshot, table_counts
from tests.history_strategies import T0, histories, item, snapshot_of

TEAMS = count()
ON_ANY_DATABASE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FIRST = (datetime.min.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
LAST = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


def new_team() -> str:
    """A team of its own for each example: the database is shared by all of them."""
    return f"team-{next(TEAMS)}"


@ON_ANY_DATABASE
@given(data=st.data())
def test_saved_histories_load_back_exactly(engine: Engine, data: st.DataObject) -> None:
    team = new_team()
    saved = data.draw(histories(team))

    counts = save_page(engine, f"{team}/test", Page(saved), T0)

    assert counts.refused == 0
    assert load_snapshot(engine, team, ["Done"]) == snapshot_of(team, saved, ["Done"])
    assert load_snapshot(engine, team, include_removed=True) == snapshot_of(team, saved)


@ON_ANY_DATABASE
@given(data=st.data())
def test_a_rewritten_history_replaces_the_stored_one(engine: Engine, data: st.DataObject) -> None:
    team = new_team()
    first, second = data.draw(histories(team)), data.draw(histories(team))
    stored_before = table_counts(engine)
    save_page(engine, f"{team}/test", Page(first), T0)

    save_page(engine, f"{team}/test", Page(second), T0)

    rewritten = {h.item.id for h in second}
    now = [*(h for h in first if h.item.id not in rewritten), *second]
    assert load_snapshot(engine, team) == snapshot_of(team, now)
    counts = table_counts(engine)
    for kind in ("transitions", "flags", "reviews"):
        assert counts[kind] - stored_before[kind] == sum(len(getattr(h, kind)) for h in now)


def moves(team: str, n: int, statuses: list[str]) -> ItemHistory:
    """Item ``K-n`` of ``team`` moving through ``statuses``, an hour apart."""
    work_item = item(team, n)
    path = zip([None, *statuses], statuses, strict=False)
    return ItemHistory(
        work_item,
        tuple(
            Transition(work_item.id, T0 + timedelta(hours=h), old, new, None, Stage.ACTIVE)
            for h, (old, new) in enumerate(path)
        ),
    )


def dictionary(engine: Engine, team: str) -> dict[str, int]:
    query = select(STRINGS.c.value, STRINGS.c.code).where(STRINGS.c.team == team)
    with engine.connect() as conn:
        return {value: code for value, code in conn.execute(query)}


def test_a_teams_texts_are_stored_once_and_keep_their_codes(engine: Engine) -> None:
    many = [moves("alpha", n, ["To Do", "Doing"] * 50) for n in range(3)]
    save_page(engine, "alpha/test", Page(many), T0)
    before = dictionary(engine, "alpha")

    later = moves("alpha", 3, ["Doing", "Done"])
    save_page(engine, "alpha/test", Page([later]), T0)
    save_page(engine, "beta/test", Page([moves("beta", 0, ["Done"])]), T0)

    assert sorted(before) == ["Doing", "To Do", "active"]
    after = dictionary(engine, "alpha")
    assert after == {**before, "Done": 3}, "a new text is added; the others keep their codes"
    assert sorted(dictionary(engine, "beta")) == ["Done", "active"]
    assert load_snapshot(engine, "alpha") == snapshot_of("alpha", [*many, later])
    assert load_snapshot(engine, "beta") == snapshot_of("beta", [moves("beta", 0, ["Done"])])


def test_writers_of_one_team_on_postgresql_give_each_new_text_its_own_code(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time in: no two can pick a code at once")
    first, second = moves("alpha", 0, ["Alpha"]), moves("alpha", 1, ["Beta"])
    results = []
    with engine.begin() as conn:
        write_histories(conn, [first])  # holds the team's dictionary lock until its commit
        writer = threading.Thread(
            target=lambda: results.append(save_page(engine, "alpha/other", Page([second]), T0))
        )
        writer.start()
        wait_for_a_waiting_lock(engine)
    writer.join()

    assert [counts.refused for counts in results] == [0]
    assert dictionary(engine, "alpha") == {"Alpha": 0, "active": 1, "Beta": 2}
    assert load_snapshot(engine, "alpha") == snapshot_of("alpha", [first, second])


def wait_for_a_waiting_lock(engine: Engine) -> None:
    """Return once a session waits for an advisory lock (the second writer, at the dictionary)."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while not conn.execute(query).scalar_one():
            assert time.monotonic() < deadline, "the second writer never waited for the lock"


@given(st.lists(st.integers(FIRST, LAST)) | st.lists(st.integers(0, 86_400_000_000 * 3)))
def test_bulk_made_datetimes_are_the_instants(instants: list[int]) -> None:
    made = utc_datetimes(np.array(instants, dtype=np.int64))

    assert made == [EPOCH + timedelta(microseconds=value) for value in instants]
    assert all(at.tzinfo is UTC for at in made)
