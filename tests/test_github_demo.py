"""The demo's pull requests, deployments and incidents, served as GitHub data, pulled back.

The demo's PRs become GraphQL nodes, its production deployments GitHub deployments over a
main line of squash commits (one per merged PR), its incidents issues labelled ``incident``. Pulled
through the GitHub source, the PR detectors find the demo's planted PR problems exactly as they
find them in the demo itself, and DORA is computed from the synced deployments and incidents.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.config import load_config
from bot.runtime import open_runtime
from bot.sync import SyncResult, make_context, pull_into, sync_teams
from insights.detectors import run_detectors
from insights.dora import dora_metrics
from insights.model import Deployment, Incident, ItemHistory, ItemKind, Outcome, ReviewState
from integrations.demo import Config as DemoConfig
from integrations.demo import generate
from integrations.github import Config, build
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_github import FakeGitHub, commit, pr_node, ready, requested, review

REPO = "acme/payments"
ROOT_SHA = "0" * 40


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_node(history: ItemHistory) -> dict:
    pr = history.item
    timeline = []
    for event in history.reviews:
        if event.state is ReviewState.REQUESTED:
            timeline.append(requested(iso(event.at), event.reviewer))
        elif event.state is ReviewState.READY_FOR_REVIEW:
            timeline.append(ready(iso(event.at)))
        else:
            timeline.append(review(event.state.name, iso(event.at), event.reviewer))
    state = {"merged": "MERGED", "closed": "CLOSED"}.get(pr.status, "OPEN")
    return pr_node(
        int(pr.key.rsplit("#", 1)[1]),
        title=pr.title,
        created=iso(pr.created_at),
        updated=iso(pr.updated_at),
        author=pr.author,
        state=state,
        draft=pr.draft,
        merged=iso(pr.merged_at),
        closed=iso(pr.resolved_at),
        merge_sha=pr.merge_sha,
        branch=pr.head_branch,
        first_commit=iso(pr.first_commit_at),
        timeline=timeline,
        size=(pr.additions, pr.deletions, pr.changed_files),
        repo=REPO,
    )


def serve_demo(fake: FakeGitHub, histories, deployments, incidents) -> dict[str, tuple[str, ...]]:
    """Load the demo into the fake; return the shipped PR ids GitHub semantics give."""
    repo = fake.repo(REPO)
    prs = [h for h in histories if h.item.kind is ItemKind.PULL_REQUEST]
    for history in prs:
        repo.prs[int(history.item.key.rsplit("#", 1)[1])] = to_node(history)
    merged = sorted((h.item for h in prs if h.item.merged_at), key=lambda p: p.merged_at)
    repo.commits[ROOT_SHA] = commit(ROOT_SHA, [], "Initial commit", "2026-01-01T00:00:00Z")
    parent, head_of = ROOT_SHA, {}
    for pr in merged:
        repo.commits[pr.merge_sha] = commit(pr.merge_sha, [parent], pr.title, iso(pr.merged_at))
        parent = head_of[pr.id] = pr.merge_sha
    order = {pr.id: n for n, pr in enumerate(merged)}
    expected, previous = {}, None
    for n, deployment in enumerate(deployments, 1):
        # A deployment deploys the newest PR it ships (a retry redeploys the same commit).
        head = max(deployment.shipped_item_ids, key=order.__getitem__)
        repo.deployments.append(
            {
                "id": n,
                "sha": head_of[head],
                "environment": "production",
                "production_environment": True,
                "created_at": iso(deployment.started_at),
            }
        )
        state = "success" if deployment.outcome is Outcome.SUCCESS else "failure"
        repo.statuses[n] = [{"id": n, "state": state, "created_at": iso(deployment.finished_at)}]
        if deployment.outcome is Outcome.SUCCESS:
            shipped = (
                ()
                if previous is None
                else tuple(
                    f"github:pr:{pr.key}"
                    for pr in merged
                    if order[previous] < order[pr.id] <= order[head]
                )
            )
            expected[f"github:deploy:{REPO}/{n}"] = shipped
            previous = head
    for n, incident in enumerate(incidents, 1):
        repo.issues.append(
            {
                "number": 5000 + n,
                "title": incident.title,
                "state": "closed" if incident.resolved_at else "open",
                "html_url": f"https://github.com/{REPO}/issues/{5000 + n}",
                "labels": [{"name": "incident"}],
                "created_at": iso(incident.created_at),
                "updated_at": iso(incident.resolved_at or incident.created_at),
                "closed_at": iso(incident.resolved_at),
            }
        )
    return expected


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """The demo team, and the same data pulled through the GitHub source into SQLite."""
    config = load_config(DEMO_CONFIG, env={})
    team = config.teams[0]
    anchor = NOW.replace(second=0, microsecond=0)
    records = generate(DemoConfig(), anchor, team.name, team.make_workflow())
    histories = [r for r in records if isinstance(r, ItemHistory)]
    deployments = [r for r in records if isinstance(r, Deployment)]
    incidents = [r for r in records if isinstance(r, Incident)]
    with FakeGitHub() as fake:
        expected = serve_demo(fake, histories, deployments, incidents)
        runtime = open_runtime(
            config,
            database=f"sqlite:///{tmp_path_factory.mktemp('gh') / 'vsm.db'}",
            clock=lambda: NOW,
        )
        source_config = Config(
            token=fake.token,
            repos=[REPO],
            api_url=fake.url,
            incident_label="incident",
            workflow_runs=False,
        )
        source = build(source_config, make_context(team, lambda: NOW, lambda s: None))
        result = SyncResult(team.name, "github", "payments/github")
        pull_into(runtime.engine, "payments/github", source, lambda: NOW, result)
    snapshot = load_snapshot(runtime.engine, team.name)
    yield team, histories, deployments, incidents, snapshot, expected
    runtime.engine.dispose()


def test_every_demo_pull_request_comes_back_unchanged(synced) -> None:
    _, histories, _, _, snapshot, _ = synced
    demo_prs = {h.item.key: h for h in histories if h.item.kind is ItemKind.PULL_REQUEST}
    pulled = {pr.key: pr for pr in snapshot.pull_requests()}

    assert set(pulled) == set(demo_prs) and len(pulled) > 100
    for key, demo in demo_prs.items():
        pr, want = pulled[key], demo.item
        fields = (
            "title",
            "status",
            "stage",
            "created_at",
            "updated_at",
            "resolved_at",
            "author",
            "merged_at",
            "first_commit_at",
            "head_branch",
            "additions",
            "deletions",
            "changed_files",
            "merge_sha",
            "linked_keys",
        )
        assert {f: getattr(pr, f) for f in fields} == {f: getattr(want, f) for f in fields}, key
        reviews = [(r.at, r.state, r.reviewer) for r in snapshot.reviews.get(pr.id, ())]
        assert reviews == [(r.at, r.state, r.reviewer) for r in demo.reviews], key


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory):
    """The demo team as the demo source itself stores it."""
    config = load_config(DEMO_CONFIG, env={})
    database = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'vsm.db'}"
    runtime = open_runtime(config, database=database, clock=lambda: NOW)
    runtime.sleep = lambda seconds: None
    sync_teams(runtime)
    yield load_snapshot(runtime.engine, config.teams[0].name)
    runtime.engine.dispose()


def test_the_planted_pr_problems_are_found_from_github_data(synced, demo_snapshot) -> None:
    team, _, _, _, snapshot, _ = synced

    def pr_findings(snap):
        return sorted(
            (f.detector, f.subject, f.severity, f.title)
            for f in run_detectors(snap, team.agreements, NOW, team.zone)
            if f.detector.startswith("pr_")
        )

    from_github = pr_findings(snapshot)
    assert from_github == pr_findings(demo_snapshot)
    waiting = [f for f in from_github if f[0] == "pr_waiting_review"]
    assert len(waiting) >= 3  # the three PRs whose review was requested 2-4 days ago


def test_deployments_ship_what_the_commit_graph_says_and_dora_follows(
    synced, demo_snapshot
) -> None:
    team, _, deployments, incidents, snapshot, expected = synced

    pulled = {d.id: d for d in snapshot.deployments}
    assert len(pulled) == len(deployments)
    successes = {d.id: d.shipped_item_ids for d in pulled.values() if d.outcome is Outcome.SUCCESS}
    assert {k: tuple(v) for k, v in successes.items()} == expected
    demo_times = sorted((d.finished_at, d.outcome) for d in deployments)
    assert sorted((d.finished_at, d.outcome) for d in pulled.values()) == demo_times
    assert sorted((i.created_at, i.resolved_at) for i in snapshot.incidents) == sorted(
        (i.created_at, i.resolved_at) for i in incidents
    )

    window = (NOW - timedelta(days=90), NOW)
    dora = dora_metrics(snapshot, *window, team.zone)
    demo = dora_metrics(demo_snapshot, *window, team.zone)
    assert dora.deployment_count == demo.deployment_count > 20
    assert dora.change_failure_rate == demo.change_failure_rate
    assert dora.time_to_restore_seconds_median == demo.time_to_restore_seconds_median
    # Lead time follows the synced shipping: each PR is timed to the deployment that shipped it.
    shipped_by = {pr: d for d, prs in expected.items() for pr in prs}
    pairs = {(f"github:pr:{p.pr_key}", p.deployment_id) for p in dora.lead_times}
    assert pairs == {
        (pr, d) for pr, d in shipped_by.items() if window[0] <= pulled[d].finished_at < window[1]
    }
    assert dora.lead_time_for_changes_seconds_median is not None
