"""GitLab merge requests with their review timeline, read by ``updated_after``, newest first.

A sync sweeps ``/merge_requests`` updated since the stored mark (see :mod:`_gitlab_sweep`) and
reads, per changed MR, its notes and commits. ``locked`` is the short state of an MR being
merged: it is still open until GitLab writes ``merged``.

The review timeline comes from the notes: GitLab writes system notes for review requests
("requested review from @a and @b"), approvals ("approved this merge request"), requested
changes ("requested changes") and drafts marked ready ("marked this merge request as
**ready**"); a human's own comment is a COMMENTED review. An approval later withdrawn
("unapproved this merge request", or "reset approvals from @a by pushing to the branch") stays a
COMMENTED review, as GitHub's dismissed reviews do: the reviewer reviewed, the verdict is gone.
Bots are left out (METRICS.md 0.9).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
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
from integrations._gitlab_sweep import UpdatedSweep
from integrations._milestones import count_malformed_milestones, releases_of
from integrations._records import map_each
from integrations._rest import RestApi
from integrations._shipping import ShipLedger
from integrations._times import parse_time, require_time
from integrations.linking import extract_keys

GITLAB_BOT = re.compile(r"^(project|group)_\d+_bot(_\w+)?$|\[bot\]$", re.IGNORECASE)
"""Project/group access-token bots (``project_42_bot_1f3a``) and ``...[bot]`` accounts."""
MENTION = re.compile(r"@([A-Za-z0-9_.][A-Za-z0-9_.\-]*[A-Za-z0-9_\-])")
READY_NOTES = ("marked this merge request as **ready**", "marked this merge request as ready")
READY_LEGACY = ("unmarked as a **work in progress**", "unmarked this merge request as a draft")
UNAPPROVED = "unapproved this merge request"
APPROVALS_RESET = "reset approvals from"
"""``reset approvals from @a, @b, and @c by pushing to the branch`` (new commits, when the project
resets approvals on push)."""


@dataclass(frozen=True)
class MrMapping:
    """What turning an MR into records needs besides the MR."""

    project: str
    team: str
    project_keys: tuple[str, ...]
    bots: frozenset[str]

    def is_bot(self, user: Any) -> bool:
        """A bot user: flagged ``bot``, an access-token bot, ``...[bot]``, or configured."""
        if not isinstance(user, dict):
            return False
        name = str(user.get("username") or "")
        return bool(user.get("bot")) or bool(GITLAB_BOT.search(name)) or name.lower() in self.bots

    def login(self, user: Any) -> str | None:
        """The username, with ``[bot]`` appended for bots so the core recognises them."""
        if not isinstance(user, dict) or not user.get("username"):
            return None
        name = str(user["username"])
        return f"{name}[bot]" if self.is_bot(user) and not name.endswith("[bot]") else name


def mr_key(raw: dict[str, Any], project: str) -> str:
    """``group/project!12``: GitLab's full reference of a merge request."""
    return str((raw.get("references") or {}).get("full") or f"{project}!{int(raw['iid'])}")


def reviews_from_notes(
    item_id: str, notes: list[dict[str, Any]], m: MrMapping
) -> list[ReviewEvent]:
    """The review timeline an MR's notes tell, oldest first, without bots."""
    events: list[ReviewEvent] = []
    for note in sorted(notes, key=lambda n: require_time(n["created_at"], "note created_at")):
        at = require_time(note["created_at"], "note created_at")
        body = str(note.get("body") or "").strip()
        withdrawn = _withdrawn_approvals(note, body, m)
        if withdrawn:
            events = [_as_comment(e) if e.reviewer in withdrawn else e for e in events]
        else:
            events += _note_events(item_id, at, note, body, m)
    return events


def _withdrawn_approvals(note: dict[str, Any], body: str, m: MrMapping) -> frozenset[str]:
    """Whose approvals a system note withdraws; empty for every other note."""
    lowered = body.lower()
    if not note.get("system"):
        return frozenset()
    if lowered.startswith(APPROVALS_RESET):
        return frozenset(MENTION.findall(body))
    if lowered.startswith(UNAPPROVED):
        login = m.login(note.get("author"))
        return frozenset({login} if login else ())
    return frozenset()


def _as_comment(event: ReviewEvent) -> ReviewEvent:
    if event.state is not ReviewState.APPROVED:
        return event
    return dataclasses.replace(event, state=ReviewState.COMMENTED)


def _note_events(
    item_id: str, at: datetime, note: dict[str, Any], body: str, m: MrMapping
) -> list[ReviewEvent]:
    """The review events one note stands for (most notes stand for none)."""
    lowered = body.lower()
    author = note.get("author")
    if not note.get("system"):
        if m.is_bot(author):
            return []
        return [ReviewEvent(item_id, at, ReviewState.COMMENTED, m.login(author))]
    if lowered.startswith("requested review from"):
        asked = body[: len(lowered.split("removed review request", 1)[0])]
        return [
            ReviewEvent(item_id, at, ReviewState.REQUESTED, name)
            for name in MENTION.findall(asked)
            if not m.is_bot({"username": name})
        ]
    if m.is_bot(author):
        return []
    if lowered.startswith("approved this merge request"):
        return [ReviewEvent(item_id, at, ReviewState.APPROVED, m.login(author))]
    if lowered.startswith("requested changes"):
        return [ReviewEvent(item_id, at, ReviewState.CHANGES_REQUESTED, m.login(author))]
    if lowered.startswith(READY_NOTES + READY_LEGACY):
        return [ReviewEvent(item_id, at, ReviewState.READY_FOR_REVIEW, None)]
    return []


def _lifecycle(raw: dict[str, Any]) -> tuple[str, Stage, datetime | None]:
    state = raw["state"]
    if state == "merged":
        return "merged", Stage.DONE, require_time(raw["merged_at"], "merged_at")
    if state == "closed":
        end = parse_time(raw.get("closed_at"), "closed_at") or require_time(
            raw["updated_at"], "updated_at"
        )
        return "closed", Stage.CANCELLED, end
    if state in ("opened", "locked"):  # locked: being merged right now
        return ("draft" if _draft(raw) else "open"), Stage.ACTIVE, None
    raise ValueError(f"unknown merge request state {state!r}")


def _draft(raw: dict[str, Any]) -> bool:
    return bool(raw.get("draft", raw.get("work_in_progress", False)))


def to_history(
    raw: dict[str, Any], notes: list[dict[str, Any]], commits: list[dict[str, Any]], m: MrMapping
) -> ItemHistory:
    """The work item and review timeline of one merge request."""
    key = mr_key(raw, m.project)
    item_id = make_id("gitlab", "mr", key)
    status, stage, end = _lifecycle(raw)
    author = m.login(raw.get("author"))
    title = str(raw["title"])
    branch = raw.get("source_branch")
    authored = [require_time(c["authored_date"], "authored_date") for c in commits]
    merged = status == "merged"
    labels = raw.get("labels") or []
    item = WorkItem(
        id=item_id,
        team=m.team,
        source="gitlab",
        key=key,
        kind=ItemKind.PULL_REQUEST,
        type="merge_request",
        title=title,
        status=status,
        stage=stage,
        created_at=require_time(raw["created_at"], "created_at"),
        updated_at=require_time(raw["updated_at"], "updated_at"),
        resolved_at=end,
        assignee=author,
        url=raw.get("web_url"),
        labels=tuple(str(x["name"] if isinstance(x, dict) else x) for x in labels),
        author=author,
        draft=_draft(raw),
        merged_at=end if merged else None,
        first_commit_at=min(authored) if authored else None,
        head_branch=branch,
        merge_sha=(raw.get("squash_commit_sha") or raw.get("merge_commit_sha") or raw.get("sha"))
        if merged
        else None,
        linked_keys=extract_keys((branch, title, raw.get("description")), m.project_keys),
        releases=releases_of(raw),
    )
    transitions = (
        () if end is None else (Transition(item_id, end, "open", status, Stage.ACTIVE, stage),)
    )
    return ItemHistory(item, transitions, (), tuple(reviews_from_notes(item_id, notes, m)))


def merged_shas(raw: dict[str, Any]) -> list[str | None]:
    """Every sha a merged MR may leave on the target branch (merge, squash, fast-forward head)."""
    return [raw.get("merge_commit_sha"), raw.get("squash_commit_sha"), raw.get("sha")]


class MergeRequestSweep:
    """The merge requests of one project updated since the stored mark, newest first."""

    def __init__(
        self, api: RestApi, path: str, mapping: MrMapping, ledger: ShipLedger, page_size: int
    ) -> None:
        self.api = api
        self.path = path
        self.m = mapping
        self.ledger = ledger
        self.sweep = UpdatedSweep(
            api, f"{path}/merge_requests", {"state": "all", "scope": "all"}, page_size
        )

    def pull(self, state: dict[str, Any]) -> Iterator[Page]:
        """Pages of changed MRs; ``state`` (``mark``, ``sweep``) advances with them."""
        for changed in self.sweep.changed(state):
            mapped = map_each(
                self.api.source,
                "merge request",
                changed,
                self._history,
                lambda raw: f"{self.m.project}!{raw.get('iid') if isinstance(raw, dict) else '?'}",
            )
            milestones = count_malformed_milestones(
                self.api.source, changed, lambda raw: f"{self.m.project}!{raw.get('iid')}"
            )
            yield Page(histories=mapped.records, skipped=mapped.skipped + milestones)

    def _history(self, raw: dict[str, Any]) -> ItemHistory:
        base = f"{self.path}/merge_requests/{int(raw['iid'])}"
        notes = self._all(f"{base}/notes", {"sort": "asc", "order_by": "created_at"})
        commits = self._all(f"{base}/commits", {})
        history = to_history(raw, notes, commits, self.m)
        if history.item.merged_at is not None:
            self.ledger.remember(history.item.id, merged_shas(raw))
        return history

    def _all(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        query = {**params, "per_page": 100}
        return [entry for _, body in self.api.pages(path, query) for entry in body]
