"""The GitLab source against GitLab's documented REST v4 contract (issue #11, section 4).

What the list endpoints lack (a deployment's environment tier and finish time, a pipeline's start
and finish), states and notes the source must understand (``locked``, withdrawn approvals), native
incidents, retried pipelines, and counting past the 10,000 records GitLab stops counting at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from insights.detectors.support.review_facts import review_facts
from insights.model import Outcome, Page, ReviewState, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.gitlab import Config, GitLabSource, build
from tests.fake_github import load_fixture
from tests.fake_gitlab import FakeGitLab

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
MR = "gitlab:mr:acme/api!"
PIPELINE = "gitlab:pipeline:acme/api/"
DEPLOY = "gitlab:deploy:acme/api/"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fake():
    with FakeGitLab() as server:
        server.load("acme/api", load_fixture("gitlab/acme_api.json"))
        yield server


def source(fake: FakeGitLab, **options) -> GitLabSource:
    settings = {"projects": ["acme/api"], **options}
    config = Config(token=fake.token, api_url=fake.api_url, **settings)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda s: None, ("PAY",))
    return build(config, ctx)


def pull(fake: FakeGitLab, cursor: str | None = None, **options) -> list[Page]:
    return list(source(fake, **options).pull(cursor))


def runs(pages: list[Page]) -> dict:
    return {r.id: r for p in pages for r in p.pipeline_runs}


def test_a_deployment_is_production_by_the_tier_the_environments_list_gives(fake) -> None:
    project = fake.projects["acme/api"]
    project.environments.append({"id": 12, "name": "live-eu", "tier": "production"})
    project.deployments.append(
        {
            **project.deployments[3],
            "id": 46,
            "iid": 6,
            "environment": {"id": 12, "name": "live-eu", "external_url": None},
        }
    )

    pages = pull(fake)

    found = {d.id for p in pages for d in p.deployments}
    assert f"{DEPLOY}46" in found  # "live-eu" matches no name pattern: its tier says production
    assert f"{DEPLOY}42" not in found  # staging tier
    assert fake.count(r"/environments$") == 1  # once per sync, however many deployments


def test_a_deployment_finishes_and_starts_when_its_job_does(fake) -> None:
    project = fake.projects["acme/api"]
    by_api = {**project.deployments[0], "id": 40, "iid": 0, "deployable": None}
    by_api["updated_at"] = "2026-10-30T10:02:00.000Z"
    project.deployments.append(by_api)

    found = {d.id: d for p in pull(fake) for d in p.deployments}

    shipped = found[f"{DEPLOY}44"]
    assert shipped.finished_at == t("2026-11-04T18:10:00Z")  # not its updated_at, 18:10:05
    assert shipped.started_at == t("2026-11-04T18:01:00Z")  # the job started a minute after
    # A deployment created through the API has no job: it finished when it was last updated.
    assert found[f"{DEPLOY}40"].finished_at == t("2026-10-30T10:02:00Z")
    assert found[f"{DEPLOY}40"].started_at == t("2026-10-31T10:00:00Z")


def test_settled_pipelines_take_their_times_from_the_single_pipeline(fake) -> None:
    found = runs(pull(fake))

    failed = found[f"{PIPELINE}302"]
    assert failed.created_at == t("2026-11-03T11:01:00Z")
    assert failed.started_at == t("2026-11-03T11:02:00Z")
    assert failed.finished_at == t("2026-11-03T11:08:30Z")
    running = found[f"{PIPELINE}303"]  # not settled: not fetched, queued time as its start
    assert (running.outcome, running.finished_at) == (Outcome.RUNNING, None)
    assert running.started_at == running.created_at == t("2026-11-25T15:00:00Z")
    singles = [r.path.rsplit("/", 1)[-1] for r in fake.requests if "/pipelines/" in r.path]
    assert sorted(singles) == ["301", "302"]


def test_a_sync_without_changes_fetches_no_pipeline_again(fake) -> None:
    cursor = pull(fake)[-1].cursor
    fake.reset_log()

    quiet = pull(fake, cursor)

    assert runs(quiet) == {}
    assert fake.count(r"/pipelines/\d+$") == 0
    listed = [r for r in fake.requests if r.path.endswith("/pipelines")]
    assert [r.arg("updated_after") for r in listed] == ["2026-11-25T15:02:00.000Z"]


def test_a_retried_pipeline_is_stored_again_with_its_new_outcome(fake) -> None:
    cursor = pull(fake)[-1].cursor
    retried = next(p for p in fake.projects["acme/api"].pipelines if p["id"] == 302)
    retried.update(
        status="success",
        updated_at="2026-11-25T15:30:00.000Z",
        finished_at="2026-11-25T15:29:00.000Z",
    )
    fake.reset_log()

    again = runs(pull(fake, cursor))

    assert set(again) == {f"{PIPELINE}302"}
    assert again[f"{PIPELINE}302"].outcome is Outcome.SUCCESS
    assert again[f"{PIPELINE}302"].finished_at == t("2026-11-25T15:29:00Z")
    assert fake.count(r"/pipelines/\d+$") == 1


def test_a_pipeline_deleted_after_it_was_listed_is_left_out(fake) -> None:
    fake.fail(r"/pipelines/302$", 404)

    found = runs(pull(fake))

    assert sorted(found) == [f"{PIPELINE}301", f"{PIPELINE}303"]


def test_a_locked_merge_request_is_being_merged_so_still_open(fake) -> None:
    fake.projects["acme/api"].merge_requests[13]["state"] = "locked"

    pages = pull(fake)

    item = next(h.item for p in pages for h in p.histories if h.item.id == MR + "13")
    assert (item.status, item.stage, item.resolved_at) == ("open", Stage.ACTIVE, None)


def _note(note_id: int, body: str, username: str, at: str) -> dict:
    return {
        "id": note_id,
        "body": body,
        "author": {"id": note_id, "username": username},
        "created_at": at,
        "system": True,
    }


def test_withdrawn_approvals_do_not_count_as_approvals(fake) -> None:
    notes = fake.projects["acme/api"].notes
    notes[15].append(
        _note(702, "unapproved this merge request", "alice", "2026-11-04T15:30:00.000Z")
    )
    notes[13] += [
        _note(603, "approved this merge request", "bob", "2026-11-06T10:00:00.000Z"),
        _note(
            604,
            "reset approvals from @bob by pushing to the branch",
            "carol",
            "2026-11-06T11:00:00.000Z",
        ),
    ]

    found = {h.item.id: h for p in pull(fake) for h in p.histories}

    unapproved = found[MR + "15"]
    assert [(r.reviewer, r.state) for r in unapproved.reviews] == [
        ("alice", ReviewState.COMMENTED)  # she reviewed; her verdict was withdrawn
    ]
    assert review_facts(unapproved.item, unapproved.reviews, NOW).approved_at is None
    reset = found[MR + "13"]
    assert ReviewState.APPROVED not in {r.state for r in reset.reviews}
    assert review_facts(reset.item, reset.reviews, NOW).approved_at is None


def test_gitlab_incidents_are_read_by_default(fake) -> None:
    fake.projects["acme/api"].issues.append(
        {
            "id": 2010,
            "iid": 10,
            "title": "Card payments declined",
            "state": "opened",
            "labels": [],
            "issue_type": "incident",
            "created_at": "2026-11-22T08:00:00.000Z",
            "updated_at": "2026-11-22T08:10:00.000Z",
            "closed_at": None,
            "web_url": "https://gitlab.com/acme/api/-/issues/10",
            "references": {"full": "acme/api#10"},
        }
    )

    pages = pull(fake)

    incidents = {i.id for p in pages for i in p.incidents}
    assert incidents == {f"gitlab:incident:acme/api#{n}" for n in (7, 9, 10)}
    issues = [r for r in fake.requests if r.path.endswith("/issues")]
    assert [r.arg("issue_type") for r in issues] == ["incident"]
    state = json.loads(pages[-1].cursor)["projects"]["acme/api"]["native_incidents"]
    assert state["mark"] == "2026-11-22T08:10:00Z"


def test_gitlab_incidents_can_be_left_to_another_source(fake) -> None:
    pages = pull(fake, native_incidents=False)

    assert [i for p in pages for i in p.incidents] == []
    assert fake.count(r"/issues$") == 0


def test_check_config_counts_past_the_records_gitlab_stops_counting_at(fake) -> None:
    fake.count_limit = 3  # GitLab's is 10,000: above it, no X-Total

    assert source(fake).dry_run() == {"merge_requests": 5, "deployments": 5}


def test_counting_a_long_list_without_x_total_takes_few_requests(fake) -> None:
    project = fake.project("acme/many")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, 1238):
        at = (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        project.merge_requests[n] = {"iid": n, "state": "opened", "updated_at": at}
    fake.count_limit = 100

    counts = source(fake, projects=["acme/many"]).dry_run()

    assert counts == {"merge_requests": 1237, "deployments": 0}
    assert fake.count(r"/merge_requests$") <= 2 * 11 + 1  # a search, not a walk of 1,237 pages


def test_a_cursor_from_before_the_pipeline_sweep_reads_the_recent_pipelines_once(fake) -> None:
    old = {"v": 1, "projects": {"acme/api": {"pipelines": {"last_id": 303}}}}

    found = runs(pull(fake, json.dumps(old), incident_label=None, native_incidents=False))

    assert sorted(found) == [f"{PIPELINE}{n}" for n in (301, 302, 303)]  # the last 30 days
