"""A pull request's first commit is its earliest authored commit, whatever order GitHub lists.

METRICS.md 2.3/2.6: ``first_commit_authored_at`` is the minimum ``authoredDate`` over the pull
request's commits (DevLake). GitHub's ``PullRequest.commits`` takes no ``orderBy``; after a rebase
or a cherry-pick the commit it lists first is not the earliest authored one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fake_github import FakeGitHub, pr_node
from tests.test_github import Harness, histories, t

REPO = "acme/lead"
PR = "github:pr:acme/lead#"


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def only_prs(fake: FakeGitHub) -> Harness:
    return Harness(fake, repos=[REPO], workflow_runs=False, incident_label=None)


def test_the_earliest_authored_commit_is_the_first_commit_not_the_first_listed() -> None:
    with FakeGitHub() as fake:
        # A rebased branch: GitHub lists the commits in branch order, but the cherry-picked
        # second one keeps its author date, 34 hours before the one listed first.
        fake.repo(REPO).prs[7] = pr_node(
            7,
            title="Rebased",
            created="2026-11-10T09:00:00Z",
            updated="2026-11-10T12:00:00Z",
            commit_dates=["2026-11-09T20:00:00Z", "2026-11-08T10:00:00Z", "2026-11-10T08:00:00Z"],
            repo=REPO,
        )

        found = histories(only_prs(fake).pull())

    assert found[PR + "7"].item.first_commit_at == t("2026-11-08T10:00:00Z")


def test_a_pull_request_with_more_commits_than_a_page_is_read_to_its_last_commit() -> None:
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    dates = [iso(start + timedelta(hours=n)) for n in range(230)]
    dates[180] = "2026-10-20T07:30:00Z"  # the earliest sits on the third page
    with FakeGitHub() as fake:
        repo = fake.repo(REPO)
        repo.prs[8] = pr_node(
            8,
            title="Huge",
            created="2026-11-12T09:00:00Z",
            updated="2026-11-12T10:00:00Z",
            commit_dates=dates,
            repo=REPO,
        )
        repo.prs[9] = pr_node(
            9,
            title="Small",
            created="2026-11-11T09:00:00Z",
            updated="2026-11-11T10:00:00Z",
            first_commit="2026-11-11T08:00:00Z",
            repo=REPO,
        )

        found = histories(only_prs(fake).pull())
        calls = [r.body["operationName"] for r in fake.requests if r.path == "/graphql"]

    assert found[PR + "8"].item.first_commit_at == t("2026-10-20T07:30:00Z")
    assert found[PR + "9"].item.first_commit_at == t("2026-11-11T08:00:00Z")
    # The page brings each PR's first 100 commits; only #8 needs follow-ups (two more pages).
    assert calls == ["PullRequests", "PullRequestCommits", "PullRequestCommits"]


def test_a_pull_request_without_commits_has_no_first_commit() -> None:
    with FakeGitHub() as fake:
        node = pr_node(
            3, title="Empty", created="2026-11-10T09:00:00Z", updated="2026-11-10T09:00:00Z"
        )
        node["commits"] = {"nodes": []}
        fake.repo(REPO).prs[3] = node

        found = histories(only_prs(fake).pull())

    assert found[PR + "3"].item.first_commit_at is None
