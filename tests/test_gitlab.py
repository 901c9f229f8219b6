"""The GitLab source against the fake GitLab: records field by field, requests, faults, resume."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, parse_config
from insights.detectors.support.review_facts import review_facts
from insights.model import (
    Deployment,
    Incident,
    ItemHistory,
    Outcome,
    Page,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Stage,
)
from insights.workflow import Workflow
from integrations.base import SourceContext, SourceError
from integrations.gitlab import Config, GitLabSource, build
from tests.fake_github import load_fixture
from tests.fake_gitlab import FakeGitLab

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
MR = "gitlab:mr:acme/api!"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fake():
    with FakeGitLab() as server:
        server.load("acme/api", load_fixture("gitlab/acme_api.json"))
        yield server


class Harness:
    """A GitLab source on the fake, with the sleeps it asked for recorded."""

    def __init__(self, fake: FakeGitLab, **options) -> None:
        self.sleeps: list[float] = []
        settings = {"incident_label": "incident", "projects": ["acme/api"], **options}
        config = Config(token=fake.token, api_url=fake.api_url, **settings)
        ctx = SourceContext("payments", Workflow({}), lambda: NOW, self.sleeps.append, ("PAY",))
        self.source: GitLabSource = build(config, ctx)

    def pull(self, cursor: str | None = None) -> list[Page]:
        return list(self.source.pull(cursor))


def histories(pages: list[Page]) -> dict[str, ItemHistory]:
    return {h.item.id: h for p in pages for h in p.histories}


def deployments(pages: list[Page]) -> dict[str, Deployment]:
    return {d.id: d for p in pages for d in p.deployments}


def test_a_squash_merged_mr_and_its_review_notes_field_by_field(fake) -> None:
    history = histories(Harness(fake).pull())[MR + "12"]
    item = history.item

    assert (item.key, item.source, item.type) == ("acme/api!12", "gitlab", "merge_request")
    assert (item.status, item.stage, item.draft) == ("merged", Stage.DONE, False)
    assert item.title == "PAY-12: Add refund endpoint"
    assert item.created_at == t("2026-11-02T09:00:00Z")
    assert item.updated_at == t("2026-11-03T11:00:05Z")
    assert item.merged_at == item.resolved_at == t("2026-11-03T11:00:00Z")
    # The earliest of the MR's commits, authored at 16:30 +01:00.
    assert item.first_commit_at == t("2026-11-01T15:30:00Z")
    assert item.author == item.assignee == "alice"
    assert item.head_branch == "feature/pay-12-refunds"
    assert item.labels == ("feature",)
    assert item.merge_sha == "5120" + "0" * 36  # the squash commit
    assert item.linked_keys == ("PAY-12", "PAY-7")
    assert item.url == "https://gitlab.com/acme/api/-/merge_requests/12"
    assert item.additions is None  # the list API gives no sizes
    # The bot's comment and approval are dropped, and so are "added 1 commit" and mentions.
    assert history.reviews == (
        ReviewEvent(item.id, t("2026-11-02T09:01:00Z"), ReviewState.REQUESTED, "bob"),
        ReviewEvent(item.id, t("2026-11-02T10:00:00Z"), ReviewState.COMMENTED, "bob"),
        ReviewEvent(item.id, t("2026-11-02T13:00:00Z"), ReviewState.CHANGES_REQUESTED, "bob"),
        ReviewEvent(item.id, t("2026-11-02T14:00:00Z"), ReviewState.COMMENTED, "alice"),
        ReviewEvent(item.id, t("2026-11-03T10:00:00Z"), ReviewState.APPROVED, "bob"),
    )
    facts = review_facts(item, history.reviews, NOW)
    assert facts.first_review_at - item.created_at == timedelta(hours=1)  # bob's comment
    assert item.merged_at - item.created_at == timedelta(hours=26)


def test_ready_closed_and_bot_merge_requests(fake) -> None:
    found = histories(Harness(fake).pull())

    ready = found[MR + "13"]
    assert (ready.item.status, ready.item.linked_keys) == ("open", ("PAY-15",))
    assert [(r.state, r.reviewer, r.at) for r in ready.reviews] == [
        (ReviewState.READY_FOR_REVIEW, None, t("2026-11-06T09:00:00Z")),
        (ReviewState.REQUESTED, "bob", t("2026-11-06T09:00:30Z")),
        (ReviewState.REQUESTED, "carol-reviewer", t("2026-11-06T09:00:30Z")),
    ]
    closed = found[MR + "14"].item
    assert (closed.status, closed.stage, closed.resolved_at) == (
        "closed",
        Stage.CANCELLED,
        t("2026-11-05T12:00:00Z"),
    )
    assert found[MR + "16"].item.author == "project_7_bot_ab12cd[bot]"
    assert found[MR + "15"].item.merge_sha == "m150" + "0" * 36  # the merge commit


def test_deployments_ship_what_the_first_parent_commits_merged(fake) -> None:
    found = deployments(Harness(fake).pull())

    assert sorted(found) == [f"gitlab:deploy:acme/api/{n}" for n in (41, 43, 44, 45)]
    assert found["gitlab:deploy:acme/api/41"].shipped_item_ids == ()  # the baseline
    assert found["gitlab:deploy:acme/api/43"].outcome is Outcome.FAILURE
    assert found["gitlab:deploy:acme/api/44"] == Deployment(
        id="gitlab:deploy:acme/api/44",
        team="payments",
        source="gitlab",
        environment="production",
        outcome=Outcome.SUCCESS,
        finished_at=t("2026-11-04T18:10:00Z"),  # its job's, not its own updated_at (18:10:05)
        started_at=t("2026-11-04T18:01:00Z"),  # its job's start
        sha="d100" + "0" * 36,
        repo="acme/api",
        shipped_item_ids=(MR + "12", MR + "15"),
        url="https://gitlab.com/acme/api/-/jobs/8004",
        production=True,
    )
    running = found["gitlab:deploy:acme/api/45"]  # environment "prod", no tier: by name
    assert running.outcome is Outcome.RUNNING
    assert (running.environment, running.production) == ("prod", True)
    commits = [r for r in fake.requests if r.path.endswith("/repository/commits")]
    assert [(r.arg("ref_name"), r.arg("first_parent")) for r in commits] == [
        (f"{'a0' + '0' * 38}..{'d100' + '0' * 36}", "true")
    ]
    assert fake.count(r"/commits/.*/merge_requests") == 1  # only the direct push d1


def test_pipelines_and_incident_issues(fake) -> None:
    pages = Harness(fake).pull()

    runs = {r.id: r for p in pages for r in p.pipeline_runs}
    assert sorted(runs) == [f"gitlab:pipeline:acme/api/{n}" for n in (301, 302, 303)]
    assert runs["gitlab:pipeline:acme/api/302"] == PipelineRun(
        id="gitlab:pipeline:acme/api/302",
        team="payments",
        source="gitlab",
        name="Build and test",
        branch="main",
        outcome=Outcome.FAILURE,
        started_at=t("2026-11-03T11:02:00Z"),
        finished_at=t("2026-11-03T11:08:30Z"),
        url="https://gitlab.com/acme/api/-/pipelines/302",
        created_at=t("2026-11-03T11:01:00Z"),
        sha="5120000000000000000000000000000000000000",
    )
    assert runs["gitlab:pipeline:acme/api/303"].outcome is Outcome.RUNNING
    incidents = {i.id: i for p in pages for i in p.incidents}
    assert incidents == {
        "gitlab:incident:acme/api#7": Incident(
            id="gitlab:incident:acme/api#7",
            team="payments",
            source="gitlab",
            title="Payments API 5xx after deploy",
            created_at=t("2026-11-04T18:30:00Z"),
            resolved_at=t("2026-11-04T20:00:00Z"),
            url="https://gitlab.com/acme/api/-/issues/7",
        ),
        "gitlab:incident:acme/api#9": Incident(
            id="gitlab:incident:acme/api#9",
            team="payments",
            source="gitlab",
            title="Payouts delayed",
            created_at=t("2026-11-20T09:00:00Z"),
            url="https://gitlab.com/acme/api/-/issues/9",
        ),
    }


def test_an_incremental_sync_reads_only_what_changed(fake) -> None:
    harness = Harness(fake)
    cursor = harness.pull()[-1].cursor
    fake.reset_log()

    quiet = harness.pull(cursor)

    # One list per stream; no MR or pipeline is re-read (the newest sits on its mark, unchanged).
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests] == [
        "merge_requests",
        "milestones",
        "deployments",
        "pipelines",
        "issues",  # labelled incidents
        "issues",  # GitLab's own incidents
    ]
    assert histories(quiet) == {}
    project = fake.projects["acme/api"]
    project.merge_requests[13]["updated_at"] = "2026-11-24T10:00:00.000Z"
    project.notes[13].append(
        {
            "id": 603,
            "body": "approved this merge request",
            "author": {"id": 2, "username": "bob"},
            "created_at": "2026-11-24T10:00:00.000Z",
            "system": True,
        }
    )
    fake.reset_log()

    changed = harness.pull(quiet[-1].cursor)

    assert set(histories(changed)) == {MR + "13"}
    assert histories(changed)[MR + "13"].reviews[-1].state is ReviewState.APPROVED
    assert fake.count(r"/merge_requests/\d+/") == 2  # its notes and its commits


def test_a_running_deployment_is_checked_again_and_ships_from_the_last_success(fake) -> None:
    harness = Harness(fake)
    cursor = harness.pull()[-1].cursor
    project = fake.projects["acme/api"]
    e1, d1 = "e100" + "0" * 36, "d100" + "0" * 36
    project.commits[e1] = {"id": e1, "parent_ids": [d1], "title": "PAY-40 (!17)"}
    project.merge_requests[17] = {
        **project.merge_requests[12],
        "id": 1017,
        "iid": 17,
        "title": "PAY-40 Retry payouts",
        "updated_at": "2026-11-25T15:20:00.000Z",
        "merged_at": "2026-11-25T15:20:00.000Z",
        "squash_commit_sha": e1,
        "references": {"full": "acme/api!17"},
    }
    running = next(d for d in project.deployments if d["id"] == 45)
    running.update(status="success", sha=e1, updated_at="2026-11-25T15:30:00.000Z")
    running["deployable"].update(status="success", finished_at="2026-11-25T15:30:00.000Z")
    running["environment"] = {"id": 9, "name": "production"}

    pages = harness.pull(cursor)

    settled = deployments(pages)["gitlab:deploy:acme/api/45"]
    assert settled.shipped_item_ids == (MR + "17",)
    assert settled.finished_at == t("2026-11-25T15:30:00Z")
    state = json.loads(pages[-1].cursor)["projects"]["acme/api"]["deployments"]
    assert state["last_id"] == 45 and state["open"] is False


def test_offset_pages_are_followed_and_a_crash_resumes_at_the_next_page(fake) -> None:
    project = fake.project("acme/many")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, 251):
        at = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        project.merge_requests[n] = {
            "iid": n,
            "title": f"Change {n}",
            "state": "opened",
            "created_at": at,
            "updated_at": at,
            "author": {"username": "alice"},
            "source_branch": f"change-{n}",
        }
    harness = Harness(
        fake, projects=["acme/many"], pipelines=False, incident_label=None, page_size=100
    )

    first = next(harness.source.pull(None))
    state = json.loads(first.cursor)["projects"]["acme/many"]["mrs"]
    assert state["sweep"]["page"] == 2 and "mark" not in state
    fake.reset_log()
    rest = harness.pull(first.cursor)

    lists = [r for r in fake.requests if r.path.endswith("/merge_requests")]
    assert [r.arg("page") for r in lists] == ["2", "3"]
    read = set(histories([first])) | set(histories(rest))
    assert len(read) == 250 and not set(histories([first])) & set(histories(rest))
    final = json.loads(rest[-1].cursor)["projects"]["acme/many"]["mrs"]
    assert final["mark"] == "2026-01-11T10:00:00.000Z" and "sweep" not in final


def test_rate_limits_and_server_errors_are_waited_out(fake) -> None:
    fake.fail(r"/merge_requests$", 429, headers={"Retry-After": "30"})
    fake.fail(r"/merge_requests/12/notes$", 500)
    fake.fail(r"/deployments$", 503, times=2)
    harness = Harness(fake)

    pages = harness.pull()

    assert len(histories(pages)) == 5 and len(deployments(pages)) == 4
    assert harness.sleeps == [30.0, 1.0, 1.0, 2.0]


def test_malformed_records_are_skipped_counted_and_logged(fake, caplog) -> None:
    project = fake.projects["acme/api"]
    project.merge_requests[18] = {
        **project.merge_requests[13],
        "iid": 18,
        "created_at": "not a date",
    }
    project.pipelines.append(
        {
            "id": 304,
            "status": "success",
            "created_at": "last tuesday",
            "updated_at": "2026-11-20T10:00:00.000Z",
        }
    )
    caplog.set_level(logging.WARNING)

    pages = Harness(fake).pull()

    assert sum(p.skipped for p in pages) == 2
    assert len(histories(pages)) == 5
    assert "acme/api!18" in caplog.text


def test_config_problems_and_a_bad_token(fake) -> None:
    team = {"name": "payments", "projects": ["PAY"]}
    bad = {"type": "gitlab", "token": "x", "projects": ["not a project"]}
    with pytest.raises(ConfigError) as info:
        parse_config({"teams": [{**team, "sources": [bad]}]}, env={})
    assert "teams[0].sources[0].projects" in "\n".join(info.value.problems)

    config = Config(token="glpat-wrong-secret", projects=["acme/api"], api_url=fake.api_url)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda s: None, ("PAY",))
    with pytest.raises(SourceError) as error:
        list(build(config, ctx).pull(None))
    assert "HTTP 401" in str(error.value) and "glpat-wrong-secret" not in str(error.value)
    assert all(r.headers.get("private-token") for r in fake.requests)


def test_a_numeric_project_id_is_addressed_as_is(fake) -> None:
    fake.projects["42"] = fake.projects["acme/api"]

    pages = Harness(fake, projects=["42"], pipelines=False, incident_label=None).pull()

    assert MR + "12" in histories(pages)  # the key comes from GitLab's full reference
    assert fake.requests[0].path == "/api/v4/projects/42/merge_requests"


def test_dry_run_counts_without_storing(fake) -> None:
    assert Harness(fake).source.dry_run() == {"merge_requests": 5, "deployments": 5}
    assert all(r.arg("per_page") == "1" for r in fake.requests)
