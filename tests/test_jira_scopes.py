"""What scopes need from Jira (issue 18): fix versions, due dates, releases and saved filters.

Through the real sync path (``sync_teams`` into SQLite) against the fake Jira, Cloud and Data
Center: issues carry their fix versions and due date, every sync refreshes the projects' versions
as release plans (a date moved at Jira shows though no issue changed) and each configured saved
filter's membership; what the account may not read is logged and skipped, the rest is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fake_jira import API_TOKEN, PAT, WORKFLOW, FakeJira, Fault, credentials
from pydantic import ValidationError
from sqlalchemy import Engine

from bot.config import parse_config
from bot.runtime import Runtime
from bot.sync import SyncResult, sync_teams
from insights.model import Plan, Snapshot, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.jira import Config, build
from integrations.jira.query import Cursor
from storage.snapshots import load_snapshot

ENV_NAMES = {"email": "JIRA_EMAIL", "api_token": "JIRA_API_TOKEN", "token": "JIRA_PAT"}
RELEASE_DAY = date(2026, 12, 15)
IN_PROGRESS = 'project = PAY AND status = "In Progress" ORDER BY priority DESC'


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with FakeJira(request.param, cloud_page_cap=4, dc_page_cap=5) as server:
        server.load_scenario()
        server.add_version("PAY", "2.2", date(2026, 10, 1), released=True)
        server.add_version("PAY", "2.3", RELEASE_DAY)
        server.add_version("PAY", "2.4")
        server.issues["PAY-1"].fix_versions = ["2.4", "2.3"]
        server.issues["PAY-1"].due = date(2026, 12, 10)
        server.issues["PAY-2"].fix_versions = ["2.2"]
        yield server


def sync(engine: Engine, fake: FakeJira, **settings: object) -> SyncResult:
    """One sync of the team's Jira source, as the bot and ``vsm sync`` run it."""
    section = {"type": "jira", "url": fake.base_url, "project": "PAY", **settings}
    section.update({k: f"${{{ENV_NAMES[k]}}}" for k in credentials(fake.deployment)})
    if section["project"] is None:
        del section["project"]
    env = {ENV_NAMES[k]: v for k, v in credentials(fake.deployment).items()}
    teams = [{"name": "payments", "sources": [section], "workflow": WORKFLOW}]
    runtime = Runtime(
        config=parse_config({"teams": teams}, env=env), engine=engine, clock=lambda: fake.now
    )
    runtime.sleep = lambda seconds: None
    [result] = sync_teams(runtime, "payments")
    assert result.error is None, result.error
    return result


def plans(snapshot: Snapshot, kind: str) -> dict[str, Plan]:
    return {p.key: p for p in snapshot.plans if p.kind == kind}


def api(fake: FakeJira) -> str:
    return "3" if fake.deployment == "cloud" else "2"


def test_fix_versions_due_dates_and_the_projects_releases_are_stored(
    sqlite_engine: Engine, fake: FakeJira
) -> None:
    sync(sqlite_engine, fake)

    snapshot = load_snapshot(sqlite_engine, "payments")
    items = {i.key: i for i in snapshot.items}
    assert (items["PAY-1"].releases, items["PAY-1"].due_on) == (("2.4", "2.3"), date(2026, 12, 10))
    assert (items["PAY-2"].releases, items["PAY-2"].due_on) == (("2.2",), None)
    releases = plans(snapshot, "release")
    assert {k: (p.name, p.due_on, p.done) for k, p in releases.items()} == {
        "2.2": ("2.2", date(2026, 10, 1), True),
        "2.3": ("2.3", RELEASE_DAY, False),
        "2.4": ("2.4", None, False),
    }
    version_id = fake.versions["PAY"]["2.3"]["id"]
    assert releases["2.3"].url == f"{fake.base_url}/projects/PAY/versions/{version_id}"
    assert {(p.team, p.source) for p in snapshot.plans} == {("payments", "jira")}
    assert fake.count(f"/rest/api/{api(fake)}/project/PAY/versions", "GET") == 1
    searched = [r.body["fields"] for r in fake.requests if "search" in r.path]
    assert all({"fixVersions", "duedate"} <= set(fields) for fields in searched)


def test_a_release_date_moved_at_jira_shows_on_the_next_sync_though_no_issue_changed(
    sqlite_engine: Engine, fake: FakeJira
) -> None:
    sync(sqlite_engine, fake)
    fake.now += timedelta(hours=1)
    fake.set_release_date("PAY", "2.3", date(2027, 1, 20))
    fake.requests.clear()

    result = sync(sqlite_engine, fake)

    releases = plans(load_snapshot(sqlite_engine, "payments"), "release")
    assert result.records == len(releases) == 3  # the releases, no issue
    assert fake.count("/project/PAY/versions") == 1
    assert releases["2.3"].due_on == date(2027, 1, 20)


def test_without_a_configured_project_the_versions_of_the_projects_seen_are_read(
    sqlite_engine: Engine, fake: FakeJira
) -> None:
    sync(sqlite_engine, fake, project=None, jql="project = PAY")
    assert fake.count("/project/PAY/versions") == 1
    fake.now += timedelta(hours=1)
    fake.requests.clear()

    sync(sqlite_engine, fake, project=None, jql="project = PAY")  # nothing new: from the cursor

    assert fake.count("/project/PAY/versions") == 1
    assert "2.3" in plans(load_snapshot(sqlite_engine, "payments"), "release")


def test_a_saved_filters_members_are_read_each_sync_and_an_issue_leaving_it_leaves_the_plan(
    sqlite_engine: Engine, fake: FakeJira
) -> None:
    filter_id = fake.add_filter("Payments in flight", IN_PROGRESS)

    sync(sqlite_engine, fake, filters=[int(filter_id)])

    [saved] = plans(load_snapshot(sqlite_engine, "payments"), "filter").values()
    assert (saved.key, saved.name) == (filter_id, "Payments in flight")
    assert saved.item_keys == ("PAY-2", "PAY-6", "PAY-8", "PAY-100")
    assert saved.url == f"{fake.base_url}/issues/?filter={filter_id}"
    [search] = [r for r in fake.requests if "search" in r.path and "status" in r.body["jql"]]
    assert search.body["fields"] == ["key"]
    assert search.body["jql"] == '(project = PAY AND status = "In Progress") ORDER BY key ASC'

    fake.now += timedelta(hours=1)
    fake.move("PAY-8", "Code Review", fake.now - timedelta(minutes=5))
    sync(sqlite_engine, fake, filters=[int(filter_id)])

    [saved] = plans(load_snapshot(sqlite_engine, "payments"), "filter").values()
    assert saved.item_keys == ("PAY-2", "PAY-6", "PAY-100")


def test_a_refused_filter_or_project_is_logged_once_and_the_rest_of_the_sync_is_stored(
    sqlite_engine: Engine, fake: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    shared = fake.add_filter("Shared", IN_PROGRESS)
    private = fake.add_filter("Private", IN_PROGRESS)
    unreadable_jql = fake.add_filter("Uses a field the account cannot see", "labels = secret")
    fake.faults.append(Fault(f"/filter/{private}", 403))
    fake.faults.append(Fault("/project/PAY/versions", 403))
    filters = [shared, private, "99999", unreadable_jql]

    with caplog.at_level(logging.WARNING):
        sync(sqlite_engine, fake, filters=filters)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert len(snapshot.items) == len(fake.issues) - 1  # PAY-6 is malformed
    assert list(plans(snapshot, "filter")) == [shared]
    assert plans(snapshot, "release") == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "releases of project PAY" in w]) == 1
    assert any(f"saved filter {private}: HTTP 403" in w for w in warnings)
    assert any("saved filter 99999: HTTP 404" in w for w in warnings)
    assert any(f"saved filter {unreadable_jql}: HTTP 400" in w for w in warnings)
    assert not any(secret in caplog.text for secret in (API_TOKEN, PAT))


def test_a_malformed_fix_versions_or_due_date_is_ignored_alone(
    sqlite_engine: Engine, fake: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    sync(sqlite_engine, fake)
    fake.now += timedelta(hours=1)
    pay1, pay2 = fake.issues["PAY-1"], fake.issues["PAY-2"]
    pay1.broken = {"duedate": "10/12/2026"}
    pay2.broken = {"fixVersions": "2.2"}
    pay2.due = date(2026, 12, 1)
    fake.assign("PAY-1", "Ana", fake.now - timedelta(minutes=3))
    fake.assign("PAY-2", "Ana", fake.now - timedelta(minutes=2))

    with caplog.at_level(logging.WARNING):
        result = sync(sqlite_engine, fake)

    items = {i.key: i for i in load_snapshot(sqlite_engine, "payments").items}
    assert (items["PAY-1"].releases, items["PAY-1"].due_on) == (("2.4", "2.3"), None)
    assert (items["PAY-2"].releases, items["PAY-2"].due_on) == ((), date(2026, 12, 1))
    assert items["PAY-1"].assignee == items["PAY-2"].assignee == "Ana"
    assert result.skipped == 2  # one field each
    assert "ignored the duedate of PAY-1" in caplog.text
    assert "ignored the fixVersions of PAY-2" in caplog.text


def test_the_plans_travel_last_with_the_final_cursor(fake: FakeJira) -> None:
    section = {"type": "jira", "url": fake.base_url, "project": "PAY"}
    section.update(credentials(fake.deployment))
    context = SourceContext(
        team="payments",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: fake.now,
        sleep=lambda seconds: None,
    )
    pages = list(build(Config.model_validate(section), context).pull(None))
    assert [bool(p.plans) for p in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1].cursor == pages[-2].cursor and not pages[-1].histories


@pytest.mark.parametrize("filters", [["abc"], "10010", [True], ["-1"]])
def test_filters_must_be_saved_filter_ids(filters: object) -> None:
    section = {"type": "jira", "url": "https://acme.atlassian.net", "token": "t"}
    with pytest.raises(ValidationError, match="filters"):
        Config.model_validate({**section, "filters": filters})
    assert Config.model_validate({**section, "filters": [10010, "10011"]}).filters == (
        "10010",
        "10011",
    )


def test_a_cursor_stored_before_it_named_projects_knows_them_from_its_issues_and_listing() -> None:
    at = "2026-11-25T12:00:00.000+00:00"
    listing = {"at": at, "max_id": 10007, "numbers": {"OPS": 3}}
    old = json.dumps({"v": 1, "updated": at, "recent": {"PAY-1": at}, "reconciled": listing})
    cursor = Cursor.decode(old)
    assert cursor.known_projects() == {"PAY", "OPS"}
    assert "projects" not in json.loads(cursor.encode())
    later = cursor.advance([("WEB-4", datetime(2026, 11, 25, 13, tzinfo=UTC))], timedelta(0))
    assert json.loads(later.encode())["projects"] == ["OPS", "PAY", "WEB"]
    assert Cursor.decode(later.encode()).known_projects() == {"PAY", "OPS", "WEB"}
