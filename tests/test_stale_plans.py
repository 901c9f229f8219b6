"""Complete plan sets: a release or filter gone at its vendor leaves storage (and the cache).

Plans are upserted; a page that read a set in full marks it complete (``Page.plan_sets``) and
storage deletes the set's stored plans the page does not name, in the page's transaction, on the
batch path and on the record-by-record one alike (a refused plan of the set is kept). The sources
mark a set complete only when they read all of it: Jira's releases when every project's versions
answered, its filters when each was read or deleted (404); a GitHub or GitLab listing read whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest
from fake_jira import WORKFLOW, FakeJira, Fault, credentials
from sqlalchemy import Engine

from bot.config import parse_config
from bot.runtime import Runtime
from bot.snapshot_cache import replay
from bot.sync import SyncResult, pull_into, sync_teams
from insights.model import Page, Plan, PlanSet
from insights.workflow import Workflow
from integrations import github, gitlab
from integrations.base import SourceContext
from storage.pages import save_page
from storage.snapshots import load_snapshot
from tests.fake_github import FakeGitHub, load_fixture, milestone
from tests.fake_gitlab import FakeGitLab
from tests.fake_gitlab import milestone as gitlab_milestone

T0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
API = "github:acme/api"
WEB = "github:acme/web"
ENV_NAMES = {"email": "JIRA_EMAIL", "api_token": "JIRA_API_TOKEN", "token": "JIRA_PAT"}
IN_PROGRESS = 'project = PAY AND status = "In Progress"'


def release(key: str, source: str = API, team: str = "t", **fields: object) -> Plan:
    return Plan(team, source, "release", key, key, **fields)  # type: ignore[arg-type]


def stored(engine: Engine, team: str = "t") -> set[tuple[str, str, str]]:
    return {(p.source, p.kind, p.key) for p in load_snapshot(engine, team).plans}


# Storage


def test_a_release_gone_at_the_vendor_leaves_storage_only_with_its_set(engine: Engine) -> None:
    saved_filter = Plan("t", API, "filter", "10042", "Bugs", item_keys=("PAY-1",))
    others = [release("2.2", WEB), release("2.2", team="u"), saved_filter]
    save_page(engine, "t/github", Page(plans=[release("2.2"), release("2.3"), *others]), T0)

    save_page(engine, "t/github", Page(plans=[release("2.2", due_on=date(2027, 1, 5))]), T0)
    assert ("release", "2.3") in {(kind, key) for _, kind, key in stored(engine)}, "no set: kept"

    complete = Page(plans=[release("2.2")], plan_sets=[PlanSet("t", API, "release")])
    save_page(engine, "t/github", complete, T0)

    assert stored(engine) == {
        (API, "release", "2.2"),
        (WEB, "release", "2.2"),
        (API, "filter", "10042"),
    }
    assert stored(engine, "u") == {(API, "release", "2.2")}


def test_a_set_with_no_plans_in_the_page_is_emptied(engine: Engine) -> None:
    save_page(
        engine, "t/github", Page(plans=[release("2.2"), release("2.3"), release("1", WEB)]), T0
    )

    save_page(engine, "t/github", Page(plan_sets=[PlanSet("t", API, "release")]), T0)

    assert stored(engine) == {(WEB, "release", "1")}


def test_a_refused_plan_of_a_complete_set_keeps_its_stored_copy_and_the_rest_applies(
    engine: Engine,
) -> None:
    before = [release("2.2", due_on=date(2027, 1, 5)), release("2.3"), release("2.4")]
    save_page(engine, "t/github", Page(plans=before), T0)
    refused = replace(release("2.2"), name=cast(str, None))  # NOT NULL: the database refuses it
    page = Page(
        plans=[refused, release("2.3", due_on=date(2027, 2, 1))],
        plan_sets=[PlanSet("t", API, "release")],
    )

    counts = save_page(engine, "t/github", page, T0)

    assert counts.refused == 1
    plans = {p.key: p for p in load_snapshot(engine, "t").plans}
    assert list(plans) == ["2.2", "2.3"]  # 2.4 is gone; 2.2 exists at the vendor: kept as stored
    assert (plans["2.2"].due_on, plans["2.3"].due_on) == (date(2027, 1, 5), date(2027, 2, 1))


def test_a_replayed_complete_set_equals_a_fresh_load(engine: Engine) -> None:
    first = Page(
        plans=[release("2.2"), release("2.3"), release("1", WEB), release("2.3", team="u")]
    )
    save_page(engine, "t/github", first, T0)
    cached = load_snapshot(engine, "t")
    sets = [PlanSet("t", API, "release"), PlanSet("u", API, "release"), PlanSet("t", API, "filter")]
    renamed = Page(plans=[release("2.3.1"), release("2.3", team="u")], plan_sets=sets)
    emptied = Page(plan_sets=[PlanSet("t", WEB, "release")])

    for page in (renamed, emptied):
        save_page(engine, "t/github", page, T0)

    assert replay(cached, [renamed, emptied]) == load_snapshot(engine, "t")
    assert stored(engine) == {(API, "release", "2.3.1")}
    assert stored(engine, "u") == {(API, "release", "2.3")}


# Jira


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with FakeJira(request.param, cloud_page_cap=4, dc_page_cap=5) as server:
        server.load_scenario()
        server.add_version("PAY", "2.3", date(2026, 12, 15))
        server.add_version("PAY", "2.4")
        server.add_version("OPS", "ops-1", date(2026, 12, 1))
        yield server


def sync_jira(engine: Engine, fake: FakeJira, **settings: object) -> SyncResult:
    """One sync of the team's Jira source (projects PAY and OPS) as the bot runs it."""
    section = {"type": "jira", "url": fake.base_url, **settings}
    section.update({k: f"${{{ENV_NAMES[k]}}}" for k in credentials(fake.deployment)})
    env = {ENV_NAMES[k]: v for k, v in credentials(fake.deployment).items()}
    team = {"name": "payments", "projects": ["PAY", "OPS"], "sources": [section]}
    runtime = Runtime(
        config=parse_config({"teams": [{**team, "workflow": WORKFLOW}]}, env=env),
        engine=engine,
        clock=lambda: fake.now,
    )
    runtime.sleep = lambda seconds: None
    [result] = sync_teams(runtime, "payments")
    assert result.error is None, result.error
    fake.now += timedelta(hours=1)
    return result


def jira_plans(engine: Engine, kind: str) -> set[str]:
    return {p.key for p in load_snapshot(engine, "payments").plans if p.kind == kind}


def test_a_version_deleted_at_jira_leaves_with_the_next_sync(
    sqlite_engine: Engine, jira: FakeJira
) -> None:
    sync_jira(sqlite_engine, jira)
    assert jira_plans(sqlite_engine, "release") == {"2.3", "2.4", "ops-1"}

    jira.delete_version("PAY", "2.4")
    sync_jira(sqlite_engine, jira)

    assert jira_plans(sqlite_engine, "release") == {"2.3", "ops-1"}


def test_a_version_deleted_stays_while_another_projects_versions_are_refused(
    sqlite_engine: Engine, jira: FakeJira
) -> None:
    sync_jira(sqlite_engine, jira)
    jira.delete_version("PAY", "2.4")
    jira.faults.append(Fault("/project/OPS/versions", 403))

    sync_jira(sqlite_engine, jira)

    assert jira_plans(sqlite_engine, "release") == {"2.3", "2.4", "ops-1"}
    sync_jira(sqlite_engine, jira)  # every project answers again
    assert jira_plans(sqlite_engine, "release") == {"2.3", "ops-1"}


def test_each_named_jira_source_completes_only_its_own_sets(
    sqlite_engine: Engine, jira: FakeJira
) -> None:
    for name, project in (("pay", "PAY"), ("ops", "OPS"), ("pay", "PAY")):
        sync_jira(sqlite_engine, jira, name=name, project=project)

    plans = load_snapshot(sqlite_engine, "payments").plans
    assert {(p.source, p.key) for p in plans} == {
        ("jira:pay", "2.3"),
        ("jira:pay", "2.4"),
        ("jira:ops", "ops-1"),
    }


def test_a_filter_deleted_or_no_longer_configured_leaves_but_not_one_refused(
    sqlite_engine: Engine, jira: FakeJira
) -> None:
    kept, deleted, dropped = (jira.add_filter(name, IN_PROGRESS) for name in ("a", "b", "c"))
    sync_jira(sqlite_engine, jira, filters=[kept, deleted, dropped])
    assert jira_plans(sqlite_engine, "filter") == {kept, deleted, dropped}

    jira.delete_filter(deleted)
    jira.faults.append(Fault(f"/filter/{kept}", 403))
    sync_jira(sqlite_engine, jira, filters=[kept, deleted])
    assert jira_plans(sqlite_engine, "filter") == {kept, deleted, dropped}, "403: none removed"

    sync_jira(sqlite_engine, jira, filters=[kept, deleted])

    assert jira_plans(sqlite_engine, "filter") == {kept}


# GitHub and GitLab


@pytest.fixture
def github_sync(sqlite_engine: Engine) -> Iterator[tuple[FakeGitHub, Callable[[], None]]]:
    """The fake GitHub (repository acme/api) and one sync of the team's source from it."""
    with FakeGitHub() as fake:
        fake.load("acme/api", load_fixture("github/acme_api.json"))
        config = github.Config(
            token=fake.token, api_url=fake.url, repos=["acme/api"], workflow_runs=False
        )
        context = SourceContext("payments", Workflow({}), lambda: T0, lambda _: None, ("PAY",))

        def sync() -> None:
            result = SyncResult("payments", "github", "payments/github")
            source = github.build(config, context)
            pull_into(sqlite_engine, result.source_key, source, lambda: T0, result)

        yield fake, sync


def test_a_milestone_deleted_at_github_leaves_with_the_next_sync(
    sqlite_engine: Engine, github_sync: tuple[FakeGitHub, Callable[[], None]]
) -> None:
    fake, sync = github_sync
    milestones = fake.repos["acme/api"].milestones
    milestones += [milestone(1, "2.2"), milestone(2, "2.3"), milestone(3, "Someday")]
    sync()
    sync()  # unchanged: every page answers 304, nothing is stored or removed
    assert release_keys(sqlite_engine, API) == {"2.2", "2.3", "Someday"}

    del milestones[1]
    sync()

    assert release_keys(sqlite_engine, API) == {"2.2", "Someday"}


def test_a_github_listing_only_partly_changed_removes_nothing(
    sqlite_engine: Engine, github_sync: tuple[FakeGitHub, Callable[[], None]]
) -> None:
    fake, sync = github_sync
    first = date(2027, 1, 1).toordinal()
    milestones = fake.repos["acme/api"].milestones
    milestones += [
        milestone(n, f"v{n}", due_on=f"{date.fromordinal(first + n).isoformat()}T08:00:00Z")
        for n in range(1, 151)
    ]
    sync()
    del milestones[-1]  # due last: only the second page changes, the first answers 304
    sync()
    assert len(release_keys(sqlite_engine, API)) == 150

    del milestones[0]  # every page changes: the listing is read whole
    sync()

    assert release_keys(sqlite_engine, API) == {f"v{n}" for n in range(2, 150)}


def test_a_milestone_deleted_at_gitlab_leaves_with_the_next_sync(sqlite_engine: Engine) -> None:
    with FakeGitLab() as fake:
        project = fake.load("acme/api", load_fixture("gitlab/acme_api.json"))
        project.milestones += [gitlab_milestone(301, "2.2"), gitlab_milestone(302, "2.3")]
        config = gitlab.Config(
            token=fake.token, api_url=fake.api_url, projects=["acme/api"], pipelines=False
        )
        context = SourceContext("payments", Workflow({}), lambda: T0, lambda _: None, ("PAY",))

        def sync() -> None:
            result = SyncResult("payments", "gitlab", "payments/gitlab")
            pull_into(
                sqlite_engine, result.source_key, gitlab.build(config, context), lambda: T0, result
            )

        sync()
        assert release_keys(sqlite_engine, "gitlab:acme/api") == {"2.2", "2.3"}
        del project.milestones[0]
        sync()

    assert release_keys(sqlite_engine, "gitlab:acme/api") == {"2.3"}


def release_keys(engine: Engine, source: str) -> set[str]:
    plans = load_snapshot(engine, "payments").plans
    return {p.key for p in plans if p.source == source and p.kind == "release"}
