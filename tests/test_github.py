"""The GitHub source against the fake GitHub: records field by field, requests, faults, resume."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, parse_config
from bot.sync import SyncResult, pull_into
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
    Transition,
)
from insights.workflow import Workflow
from integrations._github_api import graphql_url
from integrations.base import SourceContext, SourceError
from integrations.github import Config, GitHubSource, build
from storage.pages import load_cursor, save_page
from storage.snapshots import load_snapshot
from tests.fake_github import FakeGitHub, commit, load_fixture, pr_node, review

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
PR = "github:pr:acme/api#"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fake():
    with FakeGitHub() as server:
        server.load("acme/api", load_fixture("github/acme_api.json"))
        yield server


class Harness:
    """A GitHub source on the fake, with the sleeps it asked for recorded."""

    def __init__(self, fake: FakeGitHub, **options) -> None:
        self.sleeps: list[float] = []
        settings = {"incident_label": "incident", "repos": ["acme/api"], **options}
        config = Config(token=fake.token, api_url=fake.url, **settings)
        ctx = SourceContext(
            team="payments",
            workflow=Workflow({}),
            now=lambda: NOW,
            sleep=self.sleeps.append,
            project_keys=("PAY",),
        )
        self.source: GitHubSource = build(config, ctx)

    def pull(self, cursor: str | None = None) -> list[Page]:
        return list(self.source.pull(cursor))


def histories(pages: list[Page]) -> dict[str, ItemHistory]:
    return {h.item.id: h for p in pages for h in p.histories}


def deployments(pages: list[Page]) -> dict[str, Deployment]:
    return {d.id: d for p in pages for d in p.deployments}


def runs(pages: list[Page]) -> dict[str, PipelineRun]:
    return {r.id: r for p in pages for r in p.pipeline_runs}


def incidents(pages: list[Page]) -> dict[str, Incident]:
    return {i.id: i for p in pages for i in p.incidents}


def test_a_squash_merged_pr_with_reviews_field_by_field(fake) -> None:
    pages = Harness(fake).pull()
    history = histories(pages)[PR + "101"]
    item = history.item

    assert item.key == "acme/api#101" and item.source == "github" and item.team == "payments"
    assert item.kind.value == "pr" and item.type == "pull_request"
    assert item.title == "PAY-12: Add refund endpoint"
    assert (item.status, item.stage) == ("merged", Stage.DONE)
    assert item.created_at == t("2026-11-02T09:00:00Z")
    assert item.updated_at == t("2026-11-03T11:00:05Z")
    assert item.merged_at == item.resolved_at == t("2026-11-03T11:00:00Z")
    assert item.first_commit_at == t("2026-11-01T15:30:00Z")
    assert item.author == item.assignee == "alice"
    assert not item.draft
    assert (item.additions, item.deletions, item.changed_files) == (120, 30, 4)
    assert item.head_branch == "feature/pay-12-refunds"
    assert item.labels == ("feature", "payments")
    assert item.merge_sha == "c101000000000000000000000000000000000000"
    assert item.url == "https://github.com/acme/api/pull/101"
    # PAY-12 in branch and title, PAY-7 in the body; OPS-3 is not a team project.
    assert item.linked_keys == ("PAY-12", "PAY-7")
    assert history.transitions == (
        Transition(item.id, t("2026-11-03T11:00:00Z"), "open", "merged", Stage.ACTIVE, Stage.DONE),
    )
    # The bot's review request and review are dropped, and so is carol's unsubmitted review.
    assert history.reviews == (
        ReviewEvent(item.id, t("2026-11-02T09:01:00Z"), ReviewState.REQUESTED, "bob"),
        ReviewEvent(item.id, t("2026-11-02T13:00:00Z"), ReviewState.CHANGES_REQUESTED, "bob"),
        ReviewEvent(item.id, t("2026-11-02T14:00:00Z"), ReviewState.COMMENTED, "alice"),
        ReviewEvent(item.id, t("2026-11-03T10:00:00Z"), ReviewState.APPROVED, "bob"),
    )


def test_pr_timing_is_what_hand_computation_gives(fake) -> None:
    found = histories(Harness(fake).pull())
    merged = found[PR + "101"]
    facts = review_facts(merged.item, merged.reviews, NOW)

    # Opened 09:00, bob's first review 13:00 (alice's own comment does not count), merged next
    # day 11:00.
    assert facts.first_review_at is not None
    assert facts.first_review_at - merged.item.created_at == timedelta(hours=4)
    assert merged.item.merged_at - merged.item.created_at == timedelta(hours=26)
    assert facts.approved_at == t("2026-11-03T10:00:00Z")
    # #103 was marked ready at 09:00 and the team was asked at 09:00:30: it waits since then.
    waiting = found[PR + "103"]
    assert review_facts(waiting.item, waiting.reviews, NOW).waiting_since == t(
        "2026-11-06T09:00:30Z"
    )


def test_open_draft_closed_and_bot_pull_requests(fake) -> None:
    found = histories(Harness(fake).pull())

    bot = found[PR + "102"].item
    assert (bot.status, bot.stage, bot.author) == ("open", Stage.ACTIVE, "dependabot[bot]")
    assert bot.resolved_at is None and bot.merge_sha is None and bot.linked_keys == ()
    ready = found[PR + "103"]
    assert ready.item.linked_keys == ("PAY-15",)  # from the lower-case branch name
    assert [(r.state, r.reviewer) for r in ready.reviews] == [
        (ReviewState.READY_FOR_REVIEW, None),
        (ReviewState.REQUESTED, "payments-reviewers (team)"),
    ]
    draft = found[PR + "104"].item
    assert (draft.status, draft.stage, draft.draft) == ("draft", Stage.ACTIVE, True)
    closed = found[PR + "105"]
    assert (closed.item.status, closed.item.stage) == ("closed", Stage.CANCELLED)
    assert closed.item.resolved_at == t("2026-11-05T12:00:00Z") and closed.item.merged_at is None
    assert closed.transitions[0].to_stage is Stage.CANCELLED
    assert len(found) == 6


def test_deployments_ship_the_squash_and_merge_commits_since_the_last_success(fake) -> None:
    pages = Harness(fake).pull()
    found = deployments(pages)

    assert set(found) == {
        "github:deploy:acme/api/9001",
        "github:deploy:acme/api/9003",
        "github:deploy:acme/api/9004",
    }  # 9002 is staging
    baseline, failed, shipped = (found[f"github:deploy:acme/api/{n}"] for n in (9001, 9003, 9004))
    assert baseline.outcome is Outcome.SUCCESS and baseline.shipped_item_ids == ()
    assert failed.outcome is Outcome.FAILURE and failed.shipped_item_ids == ()
    assert failed.finished_at == t("2026-11-04T16:40:00Z")
    assert shipped == Deployment(
        id="github:deploy:acme/api/9004",
        team="payments",
        source="github",
        environment="production",
        outcome=Outcome.SUCCESS,
        finished_at=t("2026-11-04T18:10:00Z"),  # the first success status, not the later inactive
        started_at=t("2026-11-04T18:00:00Z"),
        sha="d100000000000000000000000000000000000000",
        repo="acme/api",
        shipped_item_ids=(PR + "101", PR + "106"),
        url="https://github.com/acme/api/actions/runs/403",
        production=True,
    )
    # The squash commit and the merge commit matched the PRs read in this sync; only the
    # direct push d1 needed a look-up, and the merged branch's own commits none.
    assert fake.count(r"/commits/.*/pulls") == 1
    # Lead time for #101: first commit 11-01 15:30 to the deploy 11-04 18:10.
    pr = histories(pages)[PR + "101"].item
    assert shipped.finished_at - pr.first_commit_at == timedelta(days=3, hours=2, minutes=40)


def test_workflow_runs_and_incident_issues(fake) -> None:
    pages = Harness(fake).pull()

    found = runs(pages)
    assert set(found) == {f"github:run:acme/api/{n}" for n in (501, 502, 503)}  # 499: too old
    assert found["github:run:acme/api/502"] == PipelineRun(
        id="github:run:acme/api/502",
        team="payments",
        source="github",
        name="CI",
        branch="main",
        outcome=Outcome.FAILURE,
        started_at=t("2026-11-03T11:01:05Z"),
        finished_at=t("2026-11-03T11:09:00Z"),
        url="https://github.com/acme/api/actions/runs/502",
        created_at=t("2026-11-03T11:01:00Z"),
        sha="c101000000000000000000000000000000000000",
    )
    running = found["github:run:acme/api/503"]
    assert running.outcome is Outcome.RUNNING and running.finished_at is None

    issues = incidents(pages)
    assert set(issues) == {"github:incident:acme/api#201", "github:incident:acme/api#204"}
    assert issues["github:incident:acme/api#201"] == Incident(
        id="github:incident:acme/api#201",
        team="payments",
        source="github",
        title="Payments API 5xx after deploy",
        created_at=t("2026-11-04T18:30:00Z"),
        resolved_at=t("2026-11-04T20:00:00Z"),
        url="https://github.com/acme/api/issues/201",
    )
    assert issues["github:incident:acme/api#204"].resolved_at is None
    assert all(i.deployment_id is None for i in issues.values())


def test_an_unchanged_incremental_costs_only_304s(fake) -> None:
    harness = Harness(fake)
    cursor = harness.pull()[-1].cursor
    # Run 503 was still running; once it finishes, its page of the runs list changes.
    run = next(r for r in fake.repos["acme/api"].runs if r["id"] == 503)
    run.update(status="completed", conclusion="success", updated_at="2026-11-25T15:09:00Z")
    fake.reset_log()

    second = harness.pull(cursor)

    assert [(r.path, r.status) for r in fake.requests if r.status != 304] == [
        ("/repos/acme/api/actions/runs", 200)
    ]
    assert runs(second)["github:run:acme/api/503"].outcome is Outcome.SUCCESS
    fake.reset_log()
    budget = fake.rate_remaining

    third = harness.pull(second[-1].cursor)

    assert third == []
    assert {r.status for r in fake.requests} == {304}
    # pulls, milestones, deployments, runs, issues: one conditional request each
    assert fake.count() == 5
    assert all(r.headers.get("if-none-match") for r in fake.requests)
    assert fake.rate_remaining == budget


def test_a_changed_pr_is_read_down_to_the_high_water_mark(fake) -> None:
    harness = Harness(fake)
    cursor = harness.pull()[-1].cursor
    pr = fake.repos["acme/api"].prs[103]
    pr["updatedAt"] = "2026-11-24T10:00:00Z"
    pr["timelineItems"]["nodes"].append(review("APPROVED", "2026-11-24T10:00:00Z", "alice"))
    fake.reset_log()

    pages = harness.pull(cursor)

    assert fake.count("/graphql") == 1
    # #103 changed; #104 sits exactly on the old mark and is re-read; #105 is older: stop.
    assert set(histories(pages)) == {PR + "103", PR + "104"}
    assert histories(pages)[PR + "103"].reviews[-1].state is ReviewState.APPROVED
    assert json.loads(pages[-1].cursor)["repos"]["acme/api"]["prs"]["mark"] == (
        "2026-11-24T10:00:00Z"
    )


def many_prs(fake: FakeGitHub, count: int) -> None:
    repo = fake.repo("acme/many")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        at = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        repo.prs[n] = pr_node(n, title=f"Change {n}", created=at, updated=at, repo="acme/many")


def test_paging_stores_each_page_and_a_crash_resumes_without_rereading(fake) -> None:
    many_prs(fake, 250)
    harness = Harness(fake, repos=["acme/many"], workflow_runs=False, incident_label=None)

    first_page = next(harness.source.pull(None))  # the sync dies after storing one page
    state = json.loads(first_page.cursor)["repos"]["acme/many"]["prs"]
    assert len(first_page.histories) == 100
    assert state.get("mark") is None and state["sweep"]["after"]  # the mark waits for the end
    fake.reset_log()

    rest = harness.pull(first_page.cursor)

    assert fake.count("/pulls") == 0  # a sweep in progress resumes without the gate
    assert fake.count("/graphql") == 2
    read = set(histories([first_page])) | set(histories(rest))
    assert read == {f"github:pr:acme/many#{n}" for n in range(1, 251)}
    assert not set(histories([first_page])) & set(histories(rest))
    final = json.loads(rest[-1].cursor)["repos"]["acme/many"]["prs"]
    assert final["mark"] == "2026-01-11T10:00:00Z" and "sweep" not in final


def test_rest_lists_follow_link_headers(fake) -> None:
    repo = fake.repo("acme/busy")
    for n in range(1, 151):
        at = (NOW - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        repo.runs.append(
            {
                "id": 1000 + n,
                "name": "CI",
                "path": ".github/workflows/ci.yml",
                "head_branch": "main",
                "head_sha": "a" * 40,
                "event": "push",
                "status": "completed",
                "conclusion": "success",
                "created_at": at,
                "run_started_at": at,
                "updated_at": at,
                "html_url": f"https://github.com/acme/busy/actions/runs/{1000 + n}",
            }
        )

    pages = Harness(fake, repos=["acme/busy"], incident_label=None).pull()

    assert len(runs(pages)) == 150
    assert fake.count("/actions/runs") == 2
    second = [r for r in fake.requests if r.path.endswith("/actions/runs")][1]
    assert second.arg("page") == "2" and second.arg("per_page") == "100"


def test_server_errors_and_rate_limits_are_waited_out(fake) -> None:
    fake.fail("^/graphql$", 500, method="POST")
    fake.fail("/deployments$", 403, headers={"Retry-After": "7"}, body={"message": "secondary"})
    fake.fail("/compare/", 429, headers={"Retry-After": "3"})
    harness = Harness(fake)

    pages = harness.pull()

    assert len(histories(pages)) == 6 and len(deployments(pages)) == 3
    assert harness.sleeps == [1.0, 7.0, 3.0]
    assert harness.source.api.http.stats.retries == 3


def test_a_spent_primary_limit_waits_for_its_reset(fake) -> None:
    fake.rate_remaining = 1
    fake.rate_reset = int(NOW.timestamp()) + 120
    harness = Harness(fake, workflow_runs=False, incident_label=None)

    harness.pull()

    assert harness.sleeps[0] == 120.0  # the gate's answer said 0 left: wait, then continue


def test_malformed_records_are_skipped_counted_and_logged(fake, caplog) -> None:
    repo = fake.repos["acme/api"]
    repo.prs[107] = pr_node(
        107, title="Broken", created="yesterday", updated="2026-11-08T00:00:00Z"
    )
    repo.deployments.append(
        {"id": 9005, "environment": "production", "created_at": "2026-11-08T00:00:00Z"}
    )
    caplog.set_level(logging.WARNING)

    pages = Harness(fake).pull()

    assert sum(p.skipped for p in pages) == 2
    assert len(histories(pages)) == 6 and len(deployments(pages)) == 3
    assert "acme/api#107" in caplog.text and "id=9005" in caplog.text


def test_a_timeline_longer_than_a_page_is_fetched_in_full(fake) -> None:
    base = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    events = [
        review("COMMENTED", (base + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "bob")
        for i in range(230)
    ]
    fake.repos["acme/api"].prs[108] = pr_node(
        108,
        title="Long",
        created="2026-11-10T08:00:00Z",
        updated="2026-11-12T00:00:00Z",
        timeline=events,
    )

    found = histories(Harness(fake).pull())

    assert len(found[PR + "108"].reviews) == 230
    assert fake.count("/graphql") == 3  # the page, then two timeline follow-ups of #108


def test_giving_up_raises_and_keeps_the_cursor(fake, sqlite_engine) -> None:
    harness = Harness(fake)
    first = harness.pull()
    save_page(sqlite_engine, "payments/github", first[-1], NOW)
    fake.repos["acme/api"].prs[103]["updatedAt"] = "2026-11-24T10:00:00Z"
    fake.fail("^/graphql$", 502, method="POST", times=10)
    result = SyncResult("payments", "github", "payments/github")

    with pytest.raises(SourceError, match="gave up on POST graphql"):
        pull_into(sqlite_engine, "payments/github", harness.source, lambda: NOW, result)

    assert load_cursor(sqlite_engine, "payments/github") == first[-1].cursor
    assert harness.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_a_bad_token_is_explained_without_showing_it(fake) -> None:
    config = Config(token="ghp-wrong-secret", repos=["acme/api"], api_url=fake.url)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda s: None, ("PAY",))

    with pytest.raises(SourceError) as info:
        list(build(config, ctx).pull(None))

    assert "HTTP 401" in str(info.value) and "credentials" in str(info.value)
    assert "ghp-wrong-secret" not in str(info.value)


def test_an_unknown_repository_is_named(fake) -> None:
    harness = Harness(fake, repos=["acme/gone"])

    with pytest.raises(SourceError, match=r"repos/acme/gone/pulls answered HTTP 404.*names"):
        harness.pull()


def test_config_is_validated_and_the_token_comes_from_the_environment() -> None:
    team = {"name": "payments", "projects": ["PAY"]}
    good = {
        "teams": [{**team, "sources": [{"type": "github", "token": "${GH}", "repos": ["a/b"]}]}]
    }
    config = parse_config(good, env={"GH": "ghp-from-env"})
    source = config.teams[0].sources[0]
    assert source.token.get_secret_value() == "ghp-from-env"
    assert "ghp-from-env" not in repr(config)

    bad = {"type": "github", "token": "x", "repos": ["just-a-name"], "page_size": 500}
    with pytest.raises(ConfigError) as info:
        parse_config({"teams": [{**team, "sources": [bad]}]}, env={})
    problems = "\n".join(info.value.problems)
    assert "teams[0].sources[0].repos" in problems and "owner/name" in problems
    assert "teams[0].sources[0].page_size" in problems


def test_a_pull_request_read_in_an_earlier_sync_is_found_by_look_up(fake) -> None:
    repo = fake.repos["acme/api"]
    repo.prs[109] = pr_node(
        109,
        title="PAY-30 Faster payouts",
        created="2026-11-05T09:00:00Z",
        updated="2026-11-05T12:00:00Z",
        state="MERGED",
        merged="2026-11-05T12:00:00Z",
        merge_sha="e109" + "0" * 36,
    )
    repo.commits["e109" + "0" * 36] = commit("e109" + "0" * 36, ["d1" + "0" * 38], "(#109)", "x")
    harness = Harness(fake, workflow_runs=False, incident_label=None)
    cursor = harness.pull()[-1].cursor
    repo.commit_pulls["e109" + "0" * 36] = [109]
    repo.deployments.append(
        {
            "id": 9010,
            "sha": "e109" + "0" * 36,
            "environment": "production",
            "created_at": "2026-11-06T10:00:00Z",
        }
    )
    repo.statuses[9010] = [{"id": 20, "state": "success", "created_at": "2026-11-06T10:04:00Z"}]
    fake.reset_log()

    pages = harness.pull(cursor)

    assert fake.count("/graphql") == 0  # no PR changed
    shipped = deployments(pages)["github:deploy:acme/api/9010"].shipped_item_ids
    assert shipped == (PR + "109",)
    assert fake.count(r"/commits/e109.*/pulls") == 1


def test_deploy_workflow_runs_stand_in_for_missing_deployments(fake) -> None:
    repo = fake.repo("acme/web")
    shas = ["1" * 40, "2" * 40, "3" * 40]
    repo.commits[shas[0]] = commit(shas[0], [], "Start", "2026-11-01T09:00:00Z")
    repo.commits[shas[1]] = commit(shas[1], [shas[0]], "Feature (#5)", "2026-11-02T09:00:00Z")
    repo.commits[shas[2]] = commit(shas[2], [shas[1]], "Fix (#6)", "2026-11-03T09:00:00Z")
    for n, sha in ((5, shas[1]), (6, shas[2])):
        day = f"2026-11-0{n - 3}T09:00:00Z"
        repo.prs[n] = pr_node(
            n,
            title=f"PR {n}",
            created=day,
            updated=day,
            state="MERGED",
            merged=day,
            merge_sha=sha,
            repo="acme/web",
        )

    def run(native: int, sha: str, conclusion: str, at: str, event: str = "push") -> dict:
        return {
            "id": native,
            "name": "Deploy",
            "path": ".github/workflows/deploy.yml",
            "head_branch": "main",
            "head_sha": sha,
            "event": event,
            "status": "completed",
            "conclusion": conclusion,
            "created_at": at,
            "run_started_at": at,
            "updated_at": at.replace(":00Z", ":30Z"),
            "html_url": f"https://x/runs/{native}",
        }

    repo.runs += [
        run(701, shas[0], "success", "2026-11-01T10:00:00Z"),
        run(702, shas[1], "failure", "2026-11-02T10:00:00Z"),
        run(703, shas[2], "success", "2026-11-03T10:00:00Z"),
        run(704, shas[2], "success", "2026-11-03T11:00:00Z", event="pull_request"),
    ]
    harness = Harness(
        fake, repos=["acme/web"], deploy_workflows=["deploy.yml"], incident_label=None
    )

    pages = harness.pull()

    found = deployments(pages)
    assert sorted(found) == [f"github:deploy:acme/web/run/{n}" for n in (701, 702, 703)]
    last = found["github:deploy:acme/web/run/703"]
    assert last.outcome is Outcome.SUCCESS and last.finished_at == t("2026-11-03T10:00:30Z")
    assert last.shipped_item_ids == ("github:pr:acme/web#5", "github:pr:acme/web#6")
    assert found["github:deploy:acme/web/run/702"].outcome is Outcome.FAILURE
    fake.reset_log()
    assert harness.pull(pages[-1].cursor) == []
    assert {r.status for r in fake.requests} == {304}


def test_a_sync_through_the_runner_stores_everything(fake, sqlite_engine) -> None:
    harness = Harness(fake)
    result = SyncResult("payments", "github", "payments/github")

    pull_into(sqlite_engine, "payments/github", harness.source, lambda: NOW, result)

    snapshot = load_snapshot(sqlite_engine, "payments")
    assert len(snapshot.pull_requests()) == 6
    assert len(snapshot.reviews[PR + "101"]) == 4
    assert len(snapshot.deployments) == 3 and len(snapshot.incidents) == 2
    assert len(snapshot.pipeline_runs) == 3
    assert result.skipped == 0


def test_dry_run_counts_without_storing(fake) -> None:
    counts = Harness(fake).source.dry_run()

    assert counts == {"pull_requests": 6, "deployments": 4, "workflow_runs": 4}
    assert fake.count("/graphql") == 1 and fake.count("/actions/runs") == 1


def test_github_enterprise_server_urls() -> None:
    assert graphql_url("https://ghe.acme.com/api/v3") == "https://ghe.acme.com/api/graphql"
    assert graphql_url("https://api.github.com/") == "https://api.github.com/graphql"
    with FakeGitHub(enterprise=True) as ghes:
        ghes.load("acme/api", load_fixture("github/acme_api.json"))
        config = Config(token=ghes.token, repos=["acme/api"], api_url=ghes.api_url)
        ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda s: None, ("PAY",))
        pages = list(build(config, ctx).pull(None))

    assert len(histories(pages)) == 6 and len(deployments(pages)) == 3
    assert ghes.count("^/graphql$") == 1  # served at /api/graphql, beside /api/v3
