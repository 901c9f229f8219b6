"""GitHub pull requests with their full review timeline, newest first, through GraphQL.

Why GraphQL: REST needs one ``/pulls/{n}/reviews`` call (and one timeline call) per pull request,
about 2N requests for N PRs; one GraphQL page brings 100 PRs with their reviews, review requests
and ready-for-review events (``timelineItems``), commits' author dates and labels, for ~3 points.
A PR whose timeline has more than 100 such items, or that has more than 100 commits, gets
follow-up pages of its own.

First commit: the earliest ``authoredDate`` over all the PR's commits (METRICS.md 2.3, as DevLake
and the GitLab source do). ``PullRequest.commits`` ("commits present in this pull request's head
branch not present in the base branch") takes no ``orderBy``; after a rebase or a cherry-pick the
commit GitHub lists first need not be the earliest authored, so every page is read.

Why a REST gate: GraphQL answers are never 304. Each sync first asks REST for the most recently
updated PR (``/pulls?sort=updated&direction=desc&per_page=1``) with the stored ``ETag``; a 304
(free against the rate limit) means no PR changed. Otherwise the sweep reads GraphQL pages ordered
by ``UPDATED_AT DESC`` and stops at the high-water mark of the last complete sweep (``/pulls`` has
no ``since``). The mark only moves when a sweep completes; an interrupted sweep resumes from its
last stored page (its GraphQL ``endCursor``). A PR updated during a sweep moves to the top, before
the pages still to read, so nothing is skipped, and it is read by the next sweep.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from insights.model import (
    ItemHistory,
    ItemKind,
    Page,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
    make_id,
)
from integrations._github_api import GitHubApi
from integrations._milestones import count_malformed_milestones, releases_of
from integrations._records import MALFORMED, map_each
from integrations._shipping import ShipLedger
from integrations._times import format_time, parse_time, require_time
from integrations.base import SourceError
from integrations.linking import extract_keys

TIMELINE_TYPES = "[PULL_REQUEST_REVIEW, REVIEW_REQUESTED_EVENT, READY_FOR_REVIEW_EVENT]"
TIMELINE_FIELDS = """
fragment TimelineFields on PullRequestTimelineItems {
  __typename
  ... on PullRequestReview { state submittedAt author { __typename login } }
  ... on ReviewRequestedEvent {
    createdAt
    requestedReviewer {
      __typename
      ... on User { login }
      ... on Bot { login }
      ... on Mannequin { login }
      ... on Team { slug }
    }
  }
  ... on ReadyForReviewEvent { createdAt }
}
"""
COMMIT_DATES = """
fragment CommitDates on PullRequestCommitConnection {
  pageInfo { hasNextPage endCursor }
  nodes { commit { authoredDate } }
}
"""
PULL_REQUESTS = (
    """
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number title url state isDraft createdAt updatedAt closedAt mergedAt
        additions deletions changedFiles headRefName body
        author { __typename login }
        mergeCommit { oid }
        labels(first: 20) { nodes { name } }
        milestone { title }
        commits(first: 100) { ...CommitDates }
        timelineItems(first: 100, itemTypes: TIMELINE_TYPES) {
          pageInfo { hasNextPage endCursor }
          nodes { ...TimelineFields }
        }
      }
    }
  }
}
""".replace("TIMELINE_TYPES", TIMELINE_TYPES)
    + TIMELINE_FIELDS
    + COMMIT_DATES
)
PULL_REQUEST_TIMELINE = (
    """
query PullRequestTimeline($owner: String!, $name: String!, $number: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      timelineItems(first: 100, after: $after, itemTypes: TIMELINE_TYPES) {
        pageInfo { hasNextPage endCursor }
        nodes { ...TimelineFields }
      }
    }
  }
}
""".replace("TIMELINE_TYPES", TIMELINE_TYPES)
    + TIMELINE_FIELDS
)
PULL_REQUEST_COMMITS = (
    """
query PullRequestCommits($owner: String!, $name: String!, $number: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      commits(first: 100, after: $after) { ...CommitDates }
    }
  }
}
"""
    + COMMIT_DATES
)
REVIEW_STATES = {
    "APPROVED": ReviewState.APPROVED,
    "CHANGES_REQUESTED": ReviewState.CHANGES_REQUESTED,
    "COMMENTED": ReviewState.COMMENTED,
    "DISMISSED": ReviewState.COMMENTED,  # a review happened; its verdict was withdrawn
}


@dataclass(frozen=True)
class PrMapping:
    """What turning a PR node into records needs besides the node."""

    repo: str
    team: str
    project_keys: tuple[str, ...]
    bots: frozenset[str]

    def is_bot(self, actor: Any) -> bool:
        """A GitHub App (``Bot``), a login ending ``[bot]`` or one of the configured bots."""
        if not isinstance(actor, dict):
            return False
        login = str(actor.get("login") or "")
        return (
            actor.get("__typename") == "Bot"
            or login.endswith("[bot]")
            or login.lower() in self.bots
        )


def actor_login(actor: Any) -> str | None:
    """The login of a GraphQL actor; GitHub Apps get the ``[bot]`` suffix REST shows."""
    if not isinstance(actor, dict) or not actor.get("login"):
        return None
    login = str(actor["login"])
    if actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
        return f"{login}[bot]"
    return login


def _review(item_id: str, node: dict[str, Any], m: PrMapping) -> ReviewEvent | None:
    kind = node["__typename"]
    if kind == "PullRequestReview":
        state = REVIEW_STATES.get(node["state"])
        if state is None or not node.get("submittedAt") or m.is_bot(node.get("author")):
            return None  # PENDING: not submitted yet
        at = require_time(node["submittedAt"], "review submittedAt")
        return ReviewEvent(item_id, at, state, actor_login(node.get("author")))
    if kind == "ReviewRequestedEvent":
        reviewer = node.get("requestedReviewer")
        if m.is_bot(reviewer):
            return None
        name = actor_login(reviewer)
        if isinstance(reviewer, dict) and reviewer.get("slug"):
            name = f"{reviewer['slug']} (team)"
        return ReviewEvent(
            item_id, require_time(node["createdAt"], "review request"), ReviewState.REQUESTED, name
        )
    if kind == "ReadyForReviewEvent":
        at = require_time(node["createdAt"], "ready for review")
        return ReviewEvent(item_id, at, ReviewState.READY_FOR_REVIEW, None)
    return None


def _lifecycle(node: dict[str, Any]) -> tuple[str, Stage, datetime | None]:
    """(status, stage, end) of a PR: open/draft -> active, merged -> done, closed -> cancelled."""
    state = node["state"]
    if state == "MERGED":
        return "merged", Stage.DONE, require_time(node["mergedAt"], "mergedAt")
    if state == "CLOSED":
        return "closed", Stage.CANCELLED, require_time(node["closedAt"], "closedAt")
    if state == "OPEN":
        return ("draft" if node.get("isDraft") else "open"), Stage.ACTIVE, None
    raise ValueError(f"unknown pull request state {state!r}")


def to_history(node: dict[str, Any], m: PrMapping) -> ItemHistory:
    """The work item and full review timeline of one GraphQL ``PullRequest`` node."""
    key = f"{m.repo}#{int(node['number'])}"
    item_id = make_id("github", "pr", key)
    status, stage, end = _lifecycle(node)
    timeline = node["timelineItems"]["nodes"]
    reviews = [r for n in timeline if (r := _review(item_id, n, m)) is not None]
    reviews.sort(key=lambda r: r.at)
    transitions = (
        () if end is None else (Transition(item_id, end, "open", status, Stage.ACTIVE, stage),)
    )
    author = actor_login(node.get("author"))
    title = str(node["title"])
    branch = node.get("headRefName")
    item = WorkItem(
        id=item_id,
        team=m.team,
        source="github",
        key=key,
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title=title,
        status=status,
        stage=stage,
        created_at=require_time(node["createdAt"], "createdAt"),
        updated_at=require_time(node["updatedAt"], "updatedAt"),
        resolved_at=end,
        assignee=author,
        url=node.get("url"),
        labels=tuple(str(label["name"]) for label in (node.get("labels") or {}).get("nodes", [])),
        author=author,
        draft=bool(node.get("isDraft")),
        merged_at=end if status == "merged" else None,
        first_commit_at=earliest_authored(node),
        head_branch=branch,
        additions=_count(node.get("additions")),
        deletions=_count(node.get("deletions")),
        changed_files=_count(node.get("changedFiles")),
        merge_sha=(node.get("mergeCommit") or {}).get("oid") if status == "merged" else None,
        linked_keys=extract_keys((branch, title, node.get("body")), m.project_keys),
        releases=releases_of(node),
    )
    return ItemHistory(item, transitions, (), tuple(reviews))


def earliest_authored(node: dict[str, Any]) -> datetime | None:
    """The earliest ``authoredDate`` of a PR node's commits; None for a PR without commits."""
    commits = (node.get("commits") or {}).get("nodes") or []
    dates = [require_time(c["commit"]["authoredDate"], "commit authoredDate") for c in commits]
    return min(dates, default=None)


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class PullRequestSweep:
    """The pull requests of one repository, newest first, down to the stored high-water mark."""

    def __init__(
        self, api: GitHubApi, mapping: PrMapping, ledger: ShipLedger, page_size: int
    ) -> None:
        self.api = api
        self.m = mapping
        self.ledger = ledger
        self.page_size = page_size
        self.owner, self.name = mapping.repo.split("/", 1)

    def pull(self, state: dict[str, Any]) -> Iterator[Page]:
        """Pages of changed PRs; ``state`` (``etag``, ``mark``, ``sweep``) advances with them."""
        if not state.get("sweep"):
            changed = self._gate(state)
            if changed is None:
                return
            if not changed:
                yield Page()  # only the ETag moved: store it
                return
        yield from self._sweep(state)

    def _gate(self, state: dict[str, Any]) -> bool | None:
        """None: 304, nothing changed. False: nothing newer than the mark. True: sweep."""
        response = self.api.get(
            f"repos/{self.m.repo}/pulls",
            {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1},
            etag=state.get("etag"),
        )
        if response.status_code == 304:
            return None
        newest = self.api.decode(response, f"repos/{self.m.repo}/pulls")
        etag = response.headers.get("ETag")
        mark = parse_time(state.get("mark"))
        try:
            newest_at = parse_time(newest[0]["updated_at"]) if newest else None
        except MALFORMED:
            newest_at = None  # unreadable: sweep to be safe
        if not newest or (mark is not None and newest_at is not None and newest_at <= mark):
            state["etag"] = etag
            return False
        state["sweep"] = {"etag": etag, "after": None, "top": None}
        return True

    def _sweep(self, state: dict[str, Any]) -> Iterator[Page]:
        sweep = state["sweep"]
        mark = parse_time(state.get("mark"))
        top = parse_time(sweep.get("top"))
        while True:
            data = self.api.graphql(
                "PullRequests",
                PULL_REQUESTS,
                {
                    "owner": self.owner,
                    "name": self.name,
                    "first": self.page_size,
                    "after": sweep.get("after"),
                },
            )
            connection = repository_of(data, self.m.repo, self.api.source)["pullRequests"]
            fresh, reached_mark = [], False
            for node in connection["nodes"]:
                updated = _updated_at(node)
                if mark is not None and updated is not None and updated < mark:
                    reached_mark = True
                    break
                fresh.append(node)
                if updated is not None and (top is None or updated > top):
                    top = updated
            mapped = map_each(
                self.api.source,
                "pull request",
                fresh,
                self._history,
                lambda n: f"{self.m.repo}#{n.get('number') if isinstance(n, dict) else '?'}",
            )
            for history in mapped.records:
                if history.item.merge_sha:
                    self.ledger.remember(history.item.id, [history.item.merge_sha])
            info = connection["pageInfo"]
            done = reached_mark or not info["hasNextPage"]
            if done:
                state.pop("sweep")
                state["etag"] = sweep["etag"]
                newest = top or mark
                state["mark"] = format_time(newest) if newest else None
            else:
                sweep["after"] = info["endCursor"]
                sweep["top"] = format_time(top) if top else None
            milestones = count_malformed_milestones(
                self.api.source, fresh, lambda n: f"{self.m.repo}#{n.get('number')}"
            )
            yield Page(histories=mapped.records, skipped=mapped.skipped + milestones)
            if done:
                return

    def _history(self, node: dict[str, Any]) -> ItemHistory:
        self._complete_timeline(node)
        self._complete_commits(node)
        return to_history(node, self.m)

    def _complete_commits(self, node: dict[str, Any]) -> None:
        """Fetch the commits of a PR with more than one page of them (for the earliest one)."""
        commits = node.get("commits")
        if not commits:
            return
        info = commits["pageInfo"]
        nodes: Sequence[Any] = commits["nodes"]
        while info["hasNextPage"]:
            more = self._follow_up("PullRequestCommits", PULL_REQUEST_COMMITS, node, info)
            nodes = [*nodes, *more["commits"]["nodes"]]
            info = more["commits"]["pageInfo"]
        node["commits"] = {"nodes": nodes, "pageInfo": info}

    def _follow_up(
        self, operation: str, query: str, node: dict[str, Any], info: dict[str, Any]
    ) -> dict[str, Any]:
        """The ``pullRequest`` of a follow-up query for the page after ``info['endCursor']``."""
        data = self.api.graphql(
            operation,
            query,
            {
                "owner": self.owner,
                "name": self.name,
                "number": int(node["number"]),
                "after": info["endCursor"],
            },
        )
        pull_request: dict[str, Any] = repository_of(data, self.m.repo, self.api.source)[
            "pullRequest"
        ]
        return pull_request

    def _complete_timeline(self, node: dict[str, Any]) -> None:
        """Fetch the rest of a timeline longer than one page (reviews are never truncated)."""
        items = node["timelineItems"]
        info = items["pageInfo"]
        nodes: Sequence[Any] = items["nodes"]
        while info["hasNextPage"]:
            pr = self._follow_up("PullRequestTimeline", PULL_REQUEST_TIMELINE, node, info)
            more = pr["timelineItems"]
            nodes = [*nodes, *more["nodes"]]
            info = more["pageInfo"]
        node["timelineItems"] = {"nodes": nodes, "pageInfo": info}


def _updated_at(node: Any) -> datetime | None:
    try:
        return parse_time(node["updatedAt"])
    except MALFORMED:
        return None  # mapped (and skipped as malformed) with the page


def repository_of(data: dict[str, Any], repo: str, source: str) -> dict[str, Any]:
    """The ``repository`` of a GraphQL answer; a SourceError naming the repo when it is null."""
    repository = data.get("repository")
    if not isinstance(repository, dict):
        raise SourceError(
            f"{source}: repository {repo} was not found; check its name in app.yaml and that the "
            "token can read it"
        )
    return repository
