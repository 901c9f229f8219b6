"""Upgrading from a version that did not read releases: each source re-reads its items once.

Jira issues' fix versions and due date and GitHub/GitLab pull requests' milestones were not read
before; an incremental sync only re-reads what changed, so a stored item would lack its releases
until it changes. Through the real store (``pull_into`` into SQLite) against each fake: a first
sync stores the items without releases, the vendor's items gain them without changing, an
ordinary sync (its cursor carries the fields marker) does not see them, a cursor as the previous
version wrote it (the marker removed) makes the next sync read every item again, and the sync
after it is incremental again, at the cost of a sync with nothing new.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fake_jira import WORKFLOW, FakeJira, credentials
from sqlalchemy import Engine

from bot.sync import SyncResult, pull_into
from insights.model import Page, Snapshot, Stage
from insights.workflow import Workflow
from integrations import github, gitlab, jira
from integrations._cursor import FIELDS
from integrations.base import Source, SourceContext
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot
from tests.fake_github import FakeGitHub, load_fixture
from tests.fake_github import milestone as github_milestone
from tests.fake_gitlab import FakeGitLab
from tests.fake_gitlab import milestone as gitlab_milestone

KEY = "payments/source"
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
PR = "github:pr:acme/api#"
MR = "gitlab:mr:acme/api!"


def sync(engine: Engine, source: Source, now: datetime) -> SyncResult:
    """One sync of ``source`` into ``engine`` from its stored cursor."""
    result = SyncResult("payments", source.kind, KEY)
    pull_into(engine, KEY, source, lambda: now, result)
    assert result.error is None
    return result


def as_previous_version(engine: Engine, now: datetime) -> None:
    """Store the cursor as the version before releases wrote it: without ``fields``."""
    state = json.loads(load_cursor(engine, KEY) or "{}")
    assert state.pop("fields") == FIELDS  # a fresh install's cursor carries the marker
    save_page(engine, KEY, Page(cursor=json.dumps(state)), now)


def releases(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    return {item.id: item.releases for item in snapshot.items}


def upgrade_story(
    engine: Engine,
    make: Callable[[], Source],
    count: Callable[[], int],
    gain_releases: Callable[[], None],
    advance: Callable[[], datetime],
) -> tuple[Snapshot, Snapshot, int]:
    """The snapshots before and after the re-read, and the requests of a quiet sync.

    Asserts that an ordinary sync misses the new fields, that the re-read changes no item count,
    and that the sync after the re-read costs what a sync with nothing new costs.
    """
    sync(engine, make(), advance())
    gain_releases()
    count_before = count()
    quiet = sync(engine, make(), advance())
    quiet_requests = count() - count_before
    before = load_snapshot(engine, "payments")
    as_previous_version(engine, NOW)

    sync(engine, make(), advance())

    after = load_snapshot(engine, "payments")
    assert releases(after).keys() == releases(before).keys()  # upserted: none lost, none doubled
    assert json.loads(load_cursor(engine, KEY) or "{}")["fields"] == FIELDS
    count_before = count()
    again = sync(engine, make(), advance())
    assert count() - count_before == quiet_requests  # incremental again
    assert again.records == quiet.records
    return before, after, quiet_requests


class Clock:
    """A clock an hour on at each reading (the time between syncs)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self) -> datetime:
        self.now += timedelta(hours=1)
        return self.now


# Jira


@pytest.fixture(params=["cloud", "datacenter"])
def fake_jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with FakeJira(request.param, cloud_page_cap=4, dc_page_cap=5) as server:
        server.load_scenario()
        server.add_version("PAY", "2.3", date(2026, 12, 15))
        server.add_version("PAY", "2.4")
        yield server


def jira_source(fake: FakeJira) -> Source:
    section = {"type": "jira", "url": fake.base_url, "project": "PAY"}
    section.update(credentials(fake.deployment))
    context = SourceContext(
        team="payments",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: fake.now,
        sleep=lambda seconds: None,
    )
    return jira.build(jira.Config.model_validate(section), context)


def test_jira_issues_stored_before_fix_versions_are_read_again_once(
    sqlite_engine: Engine, fake_jira: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_jira

    def gain_releases() -> None:  # as they were at Jira all along: no issue is updated
        fake.issues["PAY-1"].fix_versions = ["2.3"]
        fake.issues["PAY-1"].due = date(2026, 12, 10)
        fake.issues["PAY-2"].fix_versions = ["2.3", "2.4"]

    def advance() -> datetime:
        fake.now += timedelta(hours=1)
        return fake.now

    with caplog.at_level(logging.INFO, logger="integrations.jira.source"):
        before, after, quiet = upgrade_story(
            sqlite_engine, lambda: jira_source(fake), fake.count, gain_releases, advance
        )

    pay = "jira:issue:PAY-"
    assert releases(before)[pay + "1"] == releases(before)[pay + "2"] == ()  # missed
    items = {item.id: item for item in after.items}
    assert (items[pay + "1"].releases, items[pay + "1"].due_on) == (("2.3",), date(2026, 12, 10))
    assert items[pay + "2"].releases == ("2.3", "2.4")
    assert quiet == 4  # serverInfo, field, the search, the project's versions
    rereads = [r for r in caplog.records if "re-reading all issues once" in r.getMessage()]
    assert len(rereads) == 1 and rereads[0].levelno == logging.INFO


def test_a_jira_reread_keeps_the_cursors_listing_of_the_live_issues(
    sqlite_engine: Engine, fake_jira: FakeJira
) -> None:
    sync(sqlite_engine, jira_source(fake_jira), fake_jira.now)
    listed = json.loads(load_cursor(sqlite_engine, KEY) or "{}")["reconciled"]
    as_previous_version(sqlite_engine, fake_jira.now)
    fake_jira.now += timedelta(hours=1)
    fake_jira.requests.clear()

    sync(sqlite_engine, jira_source(fake_jira), fake_jira.now)

    assert json.loads(load_cursor(sqlite_engine, KEY) or "{}")["reconciled"] == listed
    assert fake_jira.count("ORDER BY key") == 0  # not due: no key-only listing


def test_an_interrupted_jira_reread_resumes_where_it_stopped(
    sqlite_engine: Engine, fake_jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("integrations.jira.source.BULK_CHANGELOG_ISSUES", 4)  # Cloud pages of 4
    sync(sqlite_engine, jira_source(fake_jira), fake_jira.now)
    for issue in fake_jira.issues.values():
        issue.fix_versions = ["2.4"]
    as_previous_version(sqlite_engine, fake_jira.now)
    fake_jira.now += timedelta(hours=1)
    pages = jira_source(fake_jira).pull(load_cursor(sqlite_engine, KEY))
    first = next(pages)
    save_page(sqlite_engine, KEY, first, fake_jira.now)  # then the sync dies
    pages.close()
    assert 0 < len(first.histories) < len(fake_jira.issues) - 1
    assert json.loads(first.cursor or "{}")["fields"] == FIELDS

    sync(sqlite_engine, jira_source(fake_jira), fake_jira.now)

    stored = releases(load_snapshot(sqlite_engine, "payments"))
    assert set(stored.values()) == {("2.4",)}


# GitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.load("acme/api", load_fixture("github/acme_api.json"))
        server.repos["acme/api"].milestones.append(github_milestone(2, "2.3"))
        yield server


def github_source(fake: FakeGitHub) -> Source:
    config = github.Config(
        token=fake.token, api_url=fake.url, repos=["acme/api"], incident_label="incident"
    )
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda _: None, ("PAY",))
    return github.build(config, ctx)


def test_github_pull_requests_stored_before_milestones_are_read_again_once(
    sqlite_engine: Engine, fake_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_github

    def gain_releases() -> None:  # no pull request is updated
        fake.repos["acme/api"].prs[101]["milestone"] = {"title": "2.3"}
        fake.repos["acme/api"].prs[106]["milestone"] = {"title": "2.3"}
        fake.reset_log()

    with caplog.at_level(logging.INFO, logger="integrations.github"):
        before, after, quiet = upgrade_story(
            sqlite_engine,
            lambda: github_source(fake),
            lambda: fake.count(),
            gain_releases,
            Clock(NOW).advance,
        )

    assert releases(before)[PR + "101"] == releases(before)[PR + "106"] == ()  # missed
    assert releases(after)[PR + "101"] == releases(after)[PR + "106"] == ("2.3",)
    assert releases(after)[PR + "103"] == ()
    assert quiet == 5  # pulls, milestones, deployments, runs, issues: one 304 each
    assert {r.status for r in fake.requests[-quiet:]} == {304}  # the last sync: incremental
    assert "re-reading all pull requests once" in caplog.text


def test_a_github_reread_keeps_the_etags_of_the_other_streams(
    sqlite_engine: Engine, fake_github: FakeGitHub
) -> None:
    sync(sqlite_engine, github_source(fake_github), NOW)
    as_previous_version(sqlite_engine, NOW)
    fake_github.reset_log()

    sync(sqlite_engine, github_source(fake_github), NOW)

    assert fake_github.count("/pulls$", status=200) == 1  # asked again, without its ETag
    assert fake_github.count("/graphql") >= 1
    for stream in ("/milestones$", "/deployments$", "/actions/runs$", "/issues$"):
        assert fake_github.count(stream, status=304) == 1, stream


# GitLab


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        project = server.load("acme/api", load_fixture("gitlab/acme_api.json"))
        project.milestones.append(gitlab_milestone(302, "2.3"))
        yield server


def gitlab_source(fake: FakeGitLab) -> Source:
    config = gitlab.Config(
        token=fake.token, api_url=fake.api_url, projects=["acme/api"], incident_label="incident"
    )
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda _: None, ("PAY",))
    return gitlab.build(config, ctx)


def test_gitlab_merge_requests_stored_before_milestones_are_read_again_once(
    sqlite_engine: Engine, fake_gitlab: FakeGitLab, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_gitlab

    def gain_releases() -> None:  # no merge request is updated
        merge_requests = fake.projects["acme/api"].merge_requests
        for iid in (12, 15):
            merge_requests[iid]["milestone"] = gitlab_milestone(302, "2.3")
        fake.reset_log()

    with caplog.at_level(logging.INFO, logger="integrations.gitlab"):
        before, after, quiet = upgrade_story(
            sqlite_engine,
            lambda: gitlab_source(fake),
            lambda: fake.count(),
            gain_releases,
            Clock(NOW).advance,
        )

    assert releases(before)[MR + "12"] == releases(before)[MR + "15"] == ()  # missed
    assert releases(after)[MR + "12"] == releases(after)[MR + "15"] == ("2.3",)
    assert releases(after)[MR + "13"] == ()
    # merge requests, milestones, deployments, pipelines, labelled and native incidents
    assert quiet == 6
    last_sync = [r.path for r in fake.requests[-quiet:]]
    assert not any("/merge_requests/" in path for path in last_sync)  # no merge request read
    assert "re-reading all merge requests once" in caplog.text
