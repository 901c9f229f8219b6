"""Vendor text never stops a source (issue 12).

Long values are stored whole, NUL characters are cleaned at the integration boundary, and a record
the database still refuses is skipped, counted and named while the rest of its page and the cursor
are stored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    Outcome,
    Page,
    PipelineRun,
    Plan,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
)
from integrations.cleaning import clean_page
from storage.health import load_health, record_health
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot, table_counts
from storage.tables import TEAM_NAME_MAX_LENGTH

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
LONG = "x" * 300 + " ü"
"""Longer than every bounded column the schema had (50 to 300 characters)."""


def issue(key: str, team: str = "t", **fields: object) -> WorkItem:
    values: dict = {
        "id": f"jira:issue:{key}",
        "team": team,
        "source": "jira",
        "key": key,
        "kind": ItemKind.ISSUE,
        "type": "Story",
        "title": f"Title of {key}",
        "status": "In Progress",
        "stage": Stage.ACTIVE,
        "created_at": T0,
        "updated_at": T0 + timedelta(days=1),
    }
    values.update(fields)
    return WorkItem(**values)


def moved(item: WorkItem, status: str = "In Progress") -> ItemHistory:
    return ItemHistory(item, (Transition(item.id, T0, None, status, None, Stage.ACTIVE),))


def test_long_vendor_text_is_stored_whole(engine: Engine) -> None:
    key = "LONG-" + "9" * 300
    item = issue(
        key,
        type=LONG,
        status=LONG,
        assignee=LONG,
        priority=LONG,
        parent_key=LONG,
        author=LONG,
        head_branch=LONG,
        merge_sha=LONG,
    )
    history = ItemHistory(
        item,
        (Transition(item.id, T0, LONG, LONG, Stage.BACKLOG, Stage.ACTIVE),),
        reviews=(ReviewEvent(item.id, T0, ReviewState.APPROVED, LONG),),
    )
    deploy = Deployment(
        "github:deploy:" + LONG, "t", "github", LONG, Outcome.SUCCESS, T0, sha=LONG, repo=LONG
    )
    run = PipelineRun("github:run:" + LONG, "t", "github", LONG, LONG, Outcome.SUCCESS, T0)
    incident = Incident(
        "pagerduty:incident:" + LONG, "t", "pagerduty", LONG, T0, urgency=LONG, deployment_id=LONG
    )

    counts = save_page(engine, "t/" + LONG, Page([history], [deploy], [run], [incident], "c"), T0)

    assert (counts.new, counts.refused) == (4, 0)
    snapshot = load_snapshot(engine, "t")
    assert snapshot.items == [item]
    assert list(snapshot.transitions[item.id]) == list(history.transitions)
    assert list(snapshot.reviews[item.id]) == list(history.reviews)
    assert (snapshot.deployments, snapshot.pipeline_runs) == ([deploy], [run])
    assert snapshot.incidents == [incident]
    assert load_cursor(engine, "t/" + LONG) == "c"


def test_the_longest_team_name_the_configuration_allows_is_stored(engine: Engine) -> None:
    team = "t" * TEAM_NAME_MAX_LENGTH  # app.yaml refuses longer names
    item = issue("A-1", team=team)
    deploy = Deployment("github:deploy:1", team, "github", "prod", Outcome.SUCCESS, T0)

    counts = save_page(engine, f"{team}/jira", Page([moved(item)], [deploy], cursor="c"), T0)
    record_health(engine, source_key=f"{team}/jira", team=team, source="jira", now=T0)

    assert counts.refused == 0
    snapshot = load_snapshot(engine, team)
    assert (snapshot.items, snapshot.deployments) == ([item], [deploy])
    assert [h.team for h in load_health(engine, team)] == [team]


def test_a_refused_record_is_skipped_named_and_the_page_goes_on(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    good = [moved(issue("A-1")), moved(issue("A-2"))]
    orphan = ItemHistory(  # an event of an item that is not stored: the foreign key refuses it
        issue("A-3"), (Transition("jira:issue:NOPE", T0, None, "x", None, Stage.ACTIVE),)
    )
    page = Page([good[0], orphan, good[1]], cursor="c2")

    with caplog.at_level(logging.WARNING, logger="storage.pages"):
        counts = save_page(engine, "t/jira", page, T0)

    assert (counts.new, counts.refused) == (2, 1)
    assert [i.key for i in load_snapshot(engine, "t").items] == ["A-1", "A-2"]
    assert table_counts(engine)["transitions"] == 2
    assert load_cursor(engine, "t/jira") == "c2"
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "t/jira" in line and "jira:issue:A-3" in line and "A-1" not in line


def test_a_nul_byte_refused_by_postgresql_costs_only_its_record(engine: Engine) -> None:
    page = Page([moved(issue("A-1")), moved(issue("A-2", title="bad\x00title"))], cursor="c")

    counts = save_page(engine, "t/jira", page, T0)

    refused = 1 if engine.dialect.name == "postgresql" else 0  # SQLite stores any text
    assert counts.refused == refused
    assert len(load_snapshot(engine, "t").items) == 2 - refused
    assert load_cursor(engine, "t/jira") == "c"


def test_cleaning_removes_nul_bytes_from_every_text_and_counts_the_records() -> None:
    item = issue("A-1", title="Fix\x00 it", assignee="Ana\x00", labels=("a\x00b", "c"))
    history = ItemHistory(
        item,
        (
            Transition(item.id, T0, "To\x00 Do", "Doing", None, Stage.ACTIVE),
            Transition(item.id, T0, "Doing", "Done", None, Stage.DONE),
        ),
        (FlagChange(item.id, T0, True),),
        (ReviewEvent(item.id, T0, ReviewState.APPROVED, "b\x00en"),),
    )
    deploy = Deployment("d:1", "t", "github", "prod\x00", Outcome.SUCCESS, T0)
    run = PipelineRun("r:1", "t", "github", "ci", "main", Outcome.SUCCESS, T0)
    incident = Incident("i:1", "t", "pagerduty", "\x00Outage\x00", T0)
    plan = Plan("t", "jira", "filter", "10042", "Mobile\x00 2.3", item_keys=("A-1\x00",))
    page = Page([history], [deploy], [run], [incident], cursor="c", skipped=2, plans=[plan])

    cleaned, count = clean_page(page)

    assert count == 6  # the item, a transition, the review, the deployment, incident and plan
    got = cleaned.histories[0]
    assert (got.item.title, got.item.assignee, got.item.labels) == ("Fix it", "Ana", ("ab", "c"))
    assert [t.from_status for t in got.transitions] == ["To Do", "Doing"]
    assert got.transitions[1] is history.transitions[1]  # clean records are not copied
    assert got.reviews[0].reviewer == "ben"
    assert cleaned.deployments[0].environment == "prod"
    assert cleaned.pipeline_runs[0] is run
    assert cleaned.incidents[0].title == "Outage"
    assert (cleaned.plans[0].name, cleaned.plans[0].item_keys) == ("Mobile 2.3", ("A-1",))
    assert (cleaned.cursor, cleaned.skipped) == ("c", 2)


def test_a_clean_page_comes_back_as_it_is() -> None:
    page = Page([moved(issue("A-1"))], cursor="c")

    assert clean_page(page) == (page, 0)
    assert clean_page(page)[0] is page
