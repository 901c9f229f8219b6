"""GitLab milestones through the real sync into SQLite: releases, plans, moved dates, faults."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from bot.sync import SyncResult
from insights.model import Plan, Snapshot
from insights.scope_refs import ScopeRef
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.gitlab import Config, GitLabSource, build
from storage.snapshots import load_snapshot
from tests.fake_github import load_fixture
from tests.fake_gitlab import FakeGitLab, milestone
from tests.milestone_helpers import plans_of, pr_releases, sync_plans

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
MR = "gitlab:mr:acme/api!"
KEY = "payments/gitlab"
SOURCE = "gitlab:acme/api"


@pytest.fixture
def fake():
    with FakeGitLab() as server:
        project = server.load("acme/api", load_fixture("gitlab/acme_api.json"))
        project.milestones += [
            milestone(301, "2.2", due_date="2026-11-20", state="closed"),
            milestone(302, "2.3", due_date="2026-12-15"),
            milestone(303, "Someday"),
        ]
        server.group_milestones["acme"] = [
            milestone(401, "Q1", due_date="2027-03-31", group="acme")
        ]
        project.merge_requests[12]["milestone"] = milestone(302, "2.3", due_date="2026-12-15")
        project.merge_requests[15]["milestone"] = milestone(401, "Q1", group="acme")
        yield server


def make_source(fake: FakeGitLab) -> GitLabSource:
    config = Config(token=fake.token, api_url=fake.api_url, projects=["acme/api"], pipelines=False)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda _: None, ("PAY",))
    return build(config, ctx)


def sync(engine, fake: FakeGitLab, stored: list[Plan] | None = None) -> SyncResult:
    return sync_plans(engine, KEY, make_source(fake), lambda: NOW, stored)


def plans(snapshot: Snapshot) -> dict[str, Plan]:
    return plans_of(snapshot, SOURCE)


releases = pr_releases


def test_an_mr_milestone_is_its_release_and_the_listing_gives_the_dates(
    fake, sqlite_engine
) -> None:
    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert releases(snapshot)[MR + "12"] == ("2.3",)
    assert releases(snapshot)[MR + "15"] == ("Q1",)  # a group milestone
    assert releases(snapshot)[MR + "13"] == ()
    found = plans(snapshot)
    assert found["2.3"] == Plan(
        "payments",
        SOURCE,
        "release",
        "2.3",
        "2.3",
        date(2026, 12, 15),
        url="https://gitlab.example.com/acme/api/-/milestones/2",
    )
    assert (found["2.2"].due_on, found["2.2"].done) == (date(2026, 11, 20), True)
    assert (found["Someday"].due_on, found["Someday"].done) == (None, False)
    assert found["Q1"].due_on == date(2027, 3, 31)
    assert found["Q1"].url == "https://gitlab.example.com/groups/acme/-/milestones/1"
    assert ScopeRef("release", "Q1").at_vendor(snapshot).target == date(2027, 3, 31)
    assert result.skipped == 0 and result.error is None
    query = next(r for r in fake.requests if r.path.endswith("/milestones"))
    assert (query.arg("include_ancestors"), query.arg("per_page")) == ("true", "100")


def test_a_moved_due_date_is_seen_with_no_mr_changed(fake, sqlite_engine) -> None:
    sync(sqlite_engine, fake)
    unchanged: list[Plan] = []
    sync(sqlite_engine, fake, unchanged)
    assert unchanged == []  # the same listing is not stored again
    fake.projects["acme/api"].milestones[1]["due_date"] = "2027-01-10"
    fake.reset_log()
    stored: list[Plan] = []

    sync(sqlite_engine, fake, stored)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert plans(snapshot)["2.3"].due_on == date(2027, 1, 10)
    assert fake.count("/notes$") == 0  # no merge request was read again
    assert len(stored) == 4  # the listing's page: every plan of the project
    assert ScopeRef("release", "2.3").at_vendor(snapshot).target == date(2027, 1, 10)


def test_the_listing_is_read_page_by_page(fake, sqlite_engine) -> None:
    fake.projects["acme/api"].milestones[:] = [
        milestone(1000 + n, f"v{n}", due_date=f"2027-01-{1 + n % 28:02d}") for n in range(1, 151)
    ]

    sync(sqlite_engine, fake)

    assert len(plans(load_snapshot(sqlite_engine, "payments"))) == 151  # with the group's Q1
    assert fake.count("/milestones$") == 2


@pytest.mark.parametrize("status", [403, 404])
def test_a_refused_listing_keeps_the_rest_of_the_sync(fake, sqlite_engine, caplog, status) -> None:
    fake.fail(r"/milestones$", status, body={"message": f"{status} Forbidden"})
    caplog.set_level(logging.WARNING)

    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert result.error is None
    assert plans(snapshot) == {}
    assert releases(snapshot)[MR + "12"] == ("2.3",)
    assert len(snapshot.pull_requests()) == 5 and len(snapshot.deployments) == 4
    warnings = [r.getMessage() for r in caplog.records if "milestones" in r.getMessage()]
    assert len(warnings) == 1 and f"HTTP {status}" in warnings[0]
    assert fake.token not in caplog.text
    sync(sqlite_engine, fake)  # the next sync asks again
    assert set(plans(load_snapshot(sqlite_engine, "payments"))) == {"2.2", "2.3", "Someday", "Q1"}


def test_a_malformed_milestone_skips_only_that_field(fake, sqlite_engine, caplog) -> None:
    project = fake.projects["acme/api"]
    project.merge_requests[13]["milestone"] = ["2.3"]  # not an object
    project.merge_requests[14]["milestone"] = {"id": 9, "title": None}  # no title
    project.milestones += [
        {"id": 310, "state": "active", "due_date": "2026-12-01"},  # no title
        milestone(311, "bad date", due_date="15/12/2026"),
        milestone(312, "not a day", due_date="2026-12-15T00:00:00Z"),
    ]
    caplog.set_level(logging.WARNING)

    result = sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert len(snapshot.pull_requests()) == 5  # every MR kept
    assert releases(snapshot)[MR + "13"] == () and releases(snapshot)[MR + "14"] == ()
    assert releases(snapshot)[MR + "12"] == ("2.3",)
    found = plans(snapshot)
    assert set(found) == {"2.2", "2.3", "Someday", "Q1", "bad date", "not a day"}
    assert found["bad date"].due_on is None and found["not a day"].due_on is None
    assert result.skipped == 5  # two MR milestones, one listed milestone, two dates
    assert "acme/api!13" in caplog.text and "'bad date'" in caplog.text


def test_a_milestone_link_that_is_not_http_is_left_out(fake, sqlite_engine) -> None:
    fake.projects["acme/api"].milestones[1]["web_url"] = "data:text/html,hi"

    sync(sqlite_engine, fake)

    assert plans(load_snapshot(sqlite_engine, "payments"))["2.3"].url is None
