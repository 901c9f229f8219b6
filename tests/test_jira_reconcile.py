"""Jira reconciliation: deleted and moved issues leave the metrics; moves are followed.

Against the fake Jira (Cloud and Data Center) and a SQLite database: a sync lists the live keys
at most once a day with a key-only search, storage marks the rest removed, and an issue moved
into scope is stored under its new key even when the updated search never saw it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from fake_jira import WORKFLOW, FakeJira, Request, credentials

from insights.model import Page, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.jira import Config, JiraSource, build
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot

DAY = timedelta(days=1)
KEY_CAP = 4
"""Issues per key-only Cloud page in these tests (5,000 on a real site)."""


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest):
    with FakeJira(
        request.param, cloud_page_cap=3, dc_page_cap=4, cloud_key_page_cap=KEY_CAP
    ) as server:
        server.load_scenario()
        yield server


def make_source(fake: FakeJira, **settings) -> JiraSource:
    section = {"type": "jira", "url": fake.base_url, "project": "PAY"}
    section.update(credentials(fake.deployment))
    section.update(settings)
    context = SourceContext(
        team="payments",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: fake.now,
        sleep=lambda seconds: None,
    )
    return build(Config.model_validate(section), context)


def sync(fake: FakeJira, engine, **settings) -> list[Page]:
    """One sync into ``engine`` from its stored cursor, as the runner does it."""
    pages = []
    for page in make_source(fake, **settings).pull(load_cursor(engine, "payments/jira")):
        save_page(engine, "payments/jira", page, fake.now)
        pages.append(page)
    return pages


def key_only(request: Request) -> bool:
    return "search" in request.path and request.body.get("fields") == ["key"]


def live_keys(engine) -> list[str]:
    return sorted(i.key for i in load_snapshot(engine, "payments").items)


def test_a_backfill_counts_as_the_days_listing_so_a_sync_that_day_costs_four_requests(
    fake: FakeJira, sqlite_engine
) -> None:
    pages = sync(fake, sqlite_engine)
    assert not pages[-1].histories and pages[-1].live_items is None
    reconciled = json.loads(pages[-1].cursor)["reconciled"]
    assert datetime.fromisoformat(reconciled["at"]) == fake.now
    assert reconciled["numbers"] == {"PAY": 100}
    assert reconciled["max_id"] == max(i.id for i in fake.issues.values())
    assert not any(map(key_only, fake.requests))  # the backfill itself read every issue
    fake.requests.clear()
    fake.now += DAY - timedelta(minutes=1)

    assert sync(fake, sqlite_engine) == []
    assert fake.count() == 4  # serverInfo, field, the search, the project's versions


def test_a_day_later_one_key_only_search_per_page_lists_the_live_issues(
    fake: FakeJira, sqlite_engine
) -> None:
    sync(fake, sqlite_engine)
    fake.now += DAY
    fake.requests.clear()

    pages = sync(fake, sqlite_engine)

    listing = [r for r in fake.requests if key_only(r)]
    if fake.deployment == "cloud":
        assert len(listing) == math.ceil(len(fake.issues) / KEY_CAP)
        assert all(r.body["maxResults"] == 5000 for r in listing)
    else:
        assert listing and all("expand" not in r.body for r in listing)
    assert fake.count() == 4 + len(listing)
    assert [len(p.histories) for p in pages] == [0]
    reconciled = json.loads(pages[-1].cursor)["reconciled"]
    assert datetime.fromisoformat(reconciled["at"]) == fake.now
    fake.requests.clear()
    fake.now += timedelta(hours=23)
    assert sync(fake, sqlite_engine) == [] and fake.count() == 4  # at most once a day


def test_deleted_and_moved_out_issues_leave_the_metrics_but_stay_in_the_export(
    fake: FakeJira, sqlite_engine
) -> None:
    sync(fake, sqlite_engine)
    assert {"PAY-9", "PAY-11"} <= set(live_keys(sqlite_engine))
    fake.delete_issue("PAY-9")
    fake.move_issue("PAY-11", "OPS", fake.now + timedelta(hours=2))  # OPS is not in scope
    fake.now += DAY

    pages = sync(fake, sqlite_engine)

    assert pages[-1].live_items is not None
    assert not {"PAY-9", "PAY-11"} & set(live_keys(sqlite_engine))
    everything = load_snapshot(sqlite_engine, "payments", include_removed=True)
    removed = {i.key: i.removed_at for i in everything.items if i.removed_at is not None}
    assert removed == {"PAY-9": fake.now, "PAY-11": fake.now}
    assert everything.transitions["jira:issue:PAY-11"]  # kept whole for the export


def test_an_issue_moved_within_scope_is_followed_to_its_new_key(
    fake: FakeJira, sqlite_engine
) -> None:
    scope = {"project": None, "jql": "project in (PAY, OPS)"}
    sync(fake, sqlite_engine, **scope)
    before = load_snapshot(sqlite_engine, "payments").transitions["jira:issue:PAY-11"]
    new_key = fake.move_issue("PAY-11", "OPS", fake.now + timedelta(hours=2))
    fake.now += DAY

    pages = sync(fake, sqlite_engine, **scope)

    assert new_key == "OPS-1"
    assert [h.item.key for p in pages for h in p.histories] == ["OPS-1"]  # the updated search
    snapshot = load_snapshot(sqlite_engine, "payments")
    assert "OPS-1" in live_keys(sqlite_engine) and "PAY-11" not in live_keys(sqlite_engine)
    moved = snapshot.transitions["jira:issue:OPS-1"]
    assert [(t.at, t.to_status) for t in moved] == [(t.at, t.to_status) for t in before]
    assert pages[-1].live_items is not None
    assert pages[-1].live_items.id_prefixes == ("jira:issue:OPS-", "jira:issue:PAY-")


def test_an_issue_moved_into_scope_that_the_updated_search_missed_is_read_in_full(
    fake: FakeJira, sqlite_engine
) -> None:
    scope = {"project": None, "jql": "project in (PAY, OPS)"}
    sync(fake, sqlite_engine, **scope)
    high = datetime.fromisoformat(
        json.loads(load_cursor(sqlite_engine, "payments/jira"))["updated"]
    )
    # indexed too late for the overlap of the next updated search: only the listing sees it
    new_key = fake.move_issue("PAY-12", "OPS", high - timedelta(minutes=30))
    fake.now += DAY
    fake.requests.clear()

    pages = sync(fake, sqlite_engine, **scope)

    reread = [r for r in fake.requests if "key in" in str((r.body or {}).get("jql"))]
    assert reread and all(f'key in ("{new_key}")' in r.body["jql"] for r in reread)
    assert [h.item.key for p in pages for h in p.histories] == [new_key]
    assert new_key in live_keys(sqlite_engine) and "PAY-12" not in live_keys(sqlite_engine)
    fake.requests.clear()
    fake.now += DAY
    sync(fake, sqlite_engine, **scope)
    assert not [r for r in fake.requests if "key in" in str((r.body or {}).get("jql"))]


def test_a_project_added_to_the_scope_is_read_in_full_at_the_next_reconciliation() -> None:
    with FakeJira("cloud", cloud_page_cap=3, cloud_key_page_cap=KEY_CAP) as fake:
        created = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
        for n in (1, 2):  # older than every PAY issue
            fake.add_issue(f"OPS-{n}", "Task", f"Old ops chore {n}", created)
            fake.move(f"OPS-{n}", "In Progress", created + timedelta(days=n))
        fake.load_scenario()
        sources: dict[str, list[Page]] = {}
        cursor = None
        for name, settings in (
            ("PAY only", {}),
            ("PAY and OPS", {"project": None, "jql": "project in (PAY, OPS)"}),
        ):
            fake.now += DAY
            sources[name] = list(make_source(fake, **settings).pull(cursor))
            cursor = sources[name][-1].cursor
    read = [h.item.key for p in sources["PAY and OPS"] for h in p.histories]
    assert read == ["OPS-1", "OPS-2"]
    assert sources["PAY and OPS"][-1].live_items is not None
    assert {"jira:issue:OPS-1", "jira:issue:OPS-2"} <= sources["PAY and OPS"][-1].live_items.ids


def test_a_cursor_stored_before_reconciliations_existed_still_works(
    fake: FakeJira, sqlite_engine
) -> None:
    sync(fake, sqlite_engine)
    state = json.loads(load_cursor(sqlite_engine, "payments/jira"))
    old = json.dumps({"v": 1, "updated": state["updated"], "recent": state["recent"]})
    fake.delete_issue("PAY-10")
    fake.requests.clear()

    pages = list(make_source(fake).pull(old))

    assert any(map(key_only, fake.requests))  # never reconciled: due at once
    assert pages[-1].live_items is not None
    assert "jira:issue:PAY-10" not in pages[-1].live_items.ids
    assert "reconciled" in json.loads(pages[-1].cursor)


def test_issues_stored_minutes_ago_stay_live_while_the_search_catches_up(
    fake: FakeJira, sqlite_engine
) -> None:
    sync(fake, sqlite_engine)
    fake.now += DAY
    fake.move("PAY-10", "In Progress", fake.now - timedelta(minutes=2))
    fake.unlisted.add("PAY-10")  # the listing runs on an index that has not caught up yet

    pages = sync(fake, sqlite_engine)

    assert [h.item.key for p in pages for h in p.histories] == ["PAY-10"]
    assert pages[-1].live_items is not None
    assert "jira:issue:PAY-10" in pages[-1].live_items.ids
    assert "PAY-10" in live_keys(sqlite_engine)
