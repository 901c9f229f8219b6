"""GitHub milestones through the real sync into SQLite: releases, plans, moved dates, faults."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from bot.sync import SyncResult
from insights.model import Plan, Snapshot
from insights.scope_refs import ScopeRef
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.github import Config, GitHubSource, build
from storage.pages import load_cursor
from storage.snapshots import load_snapshot
from tests.fake_github import FakeGitHub, load_fixture, milestone
from tests.milestone_helpers import plans_of, pr_releases, sync_plans

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
PR = "github:pr:acme/api#"
KEY = "payments/github"
SOURCE = "github:acme/api"


@pytest.fixture
def fake():
    with FakeGitHub() as server:
        repo = server.load("acme/api", load_fixture("github/acme_api.json"))
        repo.prs[101]["milestone"] = {"title": "2.3", "dueOn": "2026-12-15T08:00:00Z"}
        repo.prs[106]["milestone"] = {"title": "2.2"}
        repo.milestones += [
            milestone(1, "2.2", due_on="2026-11-20T08:00:00Z", state="closed"),
            milestone(2, "2.3", due_on="2026-12-15T08:00:00Z"),
            milestone(3, "Someday"),
        ]
        yield server


def make_source(fake: FakeGitHub) -> GitHubSource:
    config = Config(token=fake.token, api_url=fake.url, repos=["acme/api"], workflow_runs=False)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda _: None, ("PAY",))
    return build(config, ctx)


def sync(engine, fake: FakeGitHub, stored: list[Plan] | None = None) -> SyncResult:
    return sync_plans(engine, KEY, make_source(fake), lambda: NOW, stored)


def plans(snapshot: Snapshot) -> dict[str, Plan]:
    return plans_of(snapshot, SOURCE)


releases = pr_releases


def test_a_pr_milestone_is_its_release_and_the_listing_gives_the_dates(fake, sqlite_engine) -> None:
    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert releases(snapshot)[PR + "101"] == ("2.3",)
    assert releases(snapshot)[PR + "106"] == ("2.2",)
    assert releases(snapshot)[PR + "103"] == ()
    assert plans(snapshot) == {
        "2.2": Plan(
            "payments",
            SOURCE,
            "release",
            "2.2",
            "2.2",
            date(2026, 11, 20),
            done=True,
            url="https://github.com/acme/api/milestone/1",
        ),
        "2.3": Plan(
            "payments",
            SOURCE,
            "release",
            "2.3",
            "2.3",
            date(2026, 12, 15),
            url="https://github.com/acme/api/milestone/2",
        ),
        "Someday": Plan(
            "payments",
            SOURCE,
            "release",
            "Someday",
            "Someday",
            None,
            url="https://github.com/acme/api/milestone/3",
        ),
    }
    assert ScopeRef("release", "2.3").at_vendor(snapshot).target == date(2026, 12, 15)
    assert result.skipped == 0 and result.error is None
    query = next(r for r in fake.requests if r.path.endswith("/milestones"))
    assert (query.arg("state"), query.arg("per_page")) == ("all", "100")


def test_the_due_day_is_the_utc_day_of_the_instant(fake, sqlite_engine) -> None:
    fake.repos["acme/api"].milestones.append(milestone(4, "late", due_on="2026-12-20T23:30:00Z"))
    fake.repos["acme/api"].milestones.append(
        milestone(5, "offset", due_on="2026-12-21T01:00:00+02:00")
    )

    sync(sqlite_engine, fake)

    found = plans(load_snapshot(sqlite_engine, "payments"))
    assert found["late"].due_on == date(2026, 12, 20)
    assert found["offset"].due_on == date(2026, 12, 20)  # 23:00 UTC the day before


def test_a_moved_due_date_is_seen_with_no_pr_changed(fake, sqlite_engine) -> None:
    sync(sqlite_engine, fake)
    fake.reset_log()
    unchanged: list[Plan] = []
    sync(sqlite_engine, fake, unchanged)
    assert fake.count("/milestones$", status=304) == 1 and unchanged == []  # one free 304
    fake.repos["acme/api"].milestones[1]["due_on"] = "2027-01-10T08:00:00Z"
    fake.reset_log()
    stored: list[Plan] = []

    sync(sqlite_engine, fake, stored)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert plans(snapshot)["2.3"].due_on == date(2027, 1, 10)
    assert fake.count("/graphql") == 0  # no pull request was read again
    assert fake.count("/pulls$", status=304) == 1
    assert len(stored) == 3  # the listing's page: every plan of the repository
    assert ScopeRef("release", "2.3").at_vendor(snapshot).target == date(2027, 1, 10)


def test_the_listing_is_paged_and_each_page_is_conditional(fake, sqlite_engine) -> None:
    repo = fake.repos["acme/api"]
    first = date(2027, 1, 1).toordinal()
    repo.milestones[:] = [
        milestone(n, f"v{n}", due_on=f"{date.fromordinal(first + n).isoformat()}T08:00:00Z")
        for n in range(1, 151)
    ]

    sync(sqlite_engine, fake)

    assert len(plans(load_snapshot(sqlite_engine, "payments"))) == 150
    assert fake.count("/milestones$", status=200) == 2
    fake.reset_log()
    repo.milestones[-1]["state"] = "closed"  # v150, due last: only the second page changes
    sync(sqlite_engine, fake)

    listed = [r.status for r in fake.requests if r.path.endswith("/milestones")]
    assert listed == [304, 200]
    assert plans(load_snapshot(sqlite_engine, "payments"))["v150"].done


@pytest.mark.parametrize("status", [403, 404])
def test_a_refused_listing_keeps_the_rest_of_the_sync(fake, sqlite_engine, caplog, status) -> None:
    fake.fail(r"/milestones$", status, body={"message": "Resource not accessible by integration"})
    caplog.set_level(logging.WARNING)

    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert result.error is None
    assert plans(snapshot) == {}
    assert releases(snapshot)[PR + "101"] == ("2.3",)
    assert len(snapshot.deployments) == 3 and len(snapshot.incidents) == 0
    warnings = [r.getMessage() for r in caplog.records if "milestones" in r.getMessage()]
    assert len(warnings) == 1 and f"HTTP {status}" in warnings[0]
    assert fake.token not in caplog.text
    # The refusal stored no ETag: the next sync asks again and gets the plans.
    sync(sqlite_engine, fake)
    assert set(plans(load_snapshot(sqlite_engine, "payments"))) == {"2.2", "2.3", "Someday"}


def test_a_malformed_milestone_skips_only_that_field(fake, sqlite_engine, caplog) -> None:
    repo = fake.repos["acme/api"]
    repo.prs[103]["milestone"] = "2.3"  # not an object
    repo.prs[104]["milestone"] = {"title": "  "}  # no title
    repo.milestones += [
        {"number": 7, "state": "open", "due_on": "2026-12-01T08:00:00Z"},  # no title
        milestone(8, "bad date", due_on="next sprint"),
        "not a milestone",
    ]
    caplog.set_level(logging.WARNING)

    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert len(snapshot.pull_requests()) == 6  # every PR kept
    assert releases(snapshot)[PR + "103"] == () and releases(snapshot)[PR + "104"] == ()
    assert releases(snapshot)[PR + "101"] == ("2.3",)
    found = plans(snapshot)
    assert set(found) == {"2.2", "2.3", "Someday", "bad date"}
    assert found["bad date"].due_on is None
    assert found["bad date"].url == "https://github.com/acme/api/milestone/8"
    assert result.skipped == 5  # two PR milestones, two listed milestones, one date
    assert "acme/api#103" in caplog.text and "'bad date'" in caplog.text
    assert load_cursor(sqlite_engine, KEY) is not None


def test_a_milestone_link_that_is_not_http_is_left_out(fake, sqlite_engine) -> None:
    fake.repos["acme/api"].milestones[1]["html_url"] = "javascript:alert(1)"

    sync(sqlite_engine, fake)

    assert plans(load_snapshot(sqlite_engine, "payments"))["2.3"].url is None
