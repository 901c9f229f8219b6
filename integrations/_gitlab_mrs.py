"""GitLab merge requests with their review timeline, read by ``updated_after``, newest first.

A sync lists ``/merge_requests?updated_after=<mark>&order_by=updated_at&sort=desc`` (GitLab
offers only offset pages here, no keyset) and, per changed MR, its notes and commits. Newest
first keeps offset paging safe: an MR updated mid-sweep jumps to the top, before the pages still
to read, so nothing is skipped. The mark moves to the newest update once the sweep completes; an
interrupted sweep resumes at its next page number.

The review timeline comes from the notes: GitLab writes system notes for review requests
("requested review from @a and @b"), approvals ("approved this merge request"), requested
changes ("requested changes") and drafts marked ready ("marked this merge request as
**ready**"); a human's own comment is a COMMENTED review. Bots are left out (METRICS.md 0.9).
"""

from __future__ import annotations

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
from integrations._records import MALFORMED, map_each
from integrations._rest import RestApi
from integrations._shipping import ShipLedger
from integrations._times import format_precise, parse_precise, parse_time, require_time
from integrations.linking import extract_keys

GITLAB_BOT = re.compile(r"^(project|group)_\d+_bot(_\w+)?$|\[bot\]$", re.IGNORECASE)
"""Project/group access-token bots (``project_42_bot_1f3a``) and ``...[bot]`` accounts."""
MENTION = re.compile(r"@([A-Za-z0-9_.][A-Za-z0-9_.\-]*[A-Za-z0-9_\-])")
READY_NOTES = ("marked this merge request as **ready**", "marked this merge request as ready")
READY_LEGACY = ("unmarked as a **work in progress**", "unmarked this merge request as a draft")


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
    events = []
    for note in sorted(notes, key=lambda n: require_time(n["created_at"], "note created_at")):
        at = require_time(note["created_at"], "note created_at")
        body = str(note.get("body") or "").strip()
        lowered = body.lower()
        author = note.get("author")
        if not note.get("system"):
            if not m.is_bot(author):
                events.append(ReviewEvent(item_id, at, ReviewState.COMMENTED, m.login(author)))
        elif lowered.startswith("requested review from"):
            asked = lowered.split("removed review request", 1)[0]
            for name in MENTION.findall(body[: len(asked)]):
                if not m.is_bot({"username": name}):
                    events.append(ReviewEvent(item_id, at, ReviewState.REQUESTED, name))
        elif m.is_bot(author):
            continue
        elif lowered.startswith("approved this merge request"):
            events.append(ReviewEvent(item_id, at, ReviewState.APPROVED, m.login(author)))
        elif lowered.startswith("requested changes"):
            events.append(ReviewEvent(item_id, at, ReviewState.CHANGES_REQUESTED, m.login(author)))
        elif lowered.startswith(READY_NOTES + READY_LEGACY):
            events.append(ReviewEvent(item_id, at, ReviewState.READY_FOR_REVIEW, None))
    return events


def _lifecycle(raw: dict[str, Any]) -> tuple[str, Stage, datetime | None]:
    state = raw["state"]
    if state == "merged":
        return "merged", Stage.DONE, require_time(raw["merged_at"], "merged_at")
    if state in ("closed", "locked"):
        end = parse_time(raw.get("closed_at"), "closed_at") or require_time(
            raw["updated_at"], "updated_at"
        )
        return "closed", Stage.CANCELLED, end
    if state == "opened":
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
        self.page_size = page_size

    def pull(self, state: dict[str, Any]) -> Iterator[Page]:
        """Pages of changed MRs; ``state`` (``mark``, ``sweep``) advances with them."""
        sweep = state.get("sweep") or {"page": 1, "after": state.get("mark"), "top": None}
        top = parse_precise(sweep.get("top"))
        seen = parse_precise(sweep.get("after"))
        while True:
            params = {
                "state": "all",
                "scope": "all",
                "order_by": "updated_at",
                "sort": "desc",
                "per_page": self.page_size,
                "page": sweep["page"],
            }
            if sweep.get("after"):
                params["updated_after"] = sweep["after"]
            response = self.api.get(f"{self.path}/merge_requests", params)
            raws = self.api.decode(response, f"{self.path}/merge_requests")
            changed = []
            for raw in raws:
                updated = _updated(raw)
                if updated is not None and (top is None or updated > top):
                    top = updated
                if updated is None or seen is None or updated > seen:
                    changed.append(raw)  # equal to the mark: stored last time, unchanged
            mapped = map_each(
                self.api.source,
                "merge request",
                changed,
                self._history,
                lambda raw: f"{self.m.project}!{raw.get('iid') if isinstance(raw, dict) else '?'}",
            )
            following = next_page(response)
            if following is None:
                state.pop("sweep", None)
                if top is not None:
                    state["mark"] = format_precise(top)
            else:
                state["sweep"] = {**sweep, "page": following, "top": _text(top)}
                sweep = state["sweep"]
            yield Page(histories=mapped.records, skipped=mapped.skipped)
            if following is None:
                return

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


def next_page(response: Any) -> int | None:
    """The next page number from ``X-Next-Page`` (empty on the last page) or the Link header."""
    header = response.headers.get("X-Next-Page")
    if header is not None:
        return int(header) if header.strip() else None
    link = response.links.get("next", {}).get("url")
    match = re.search(r"[?&]page=(\d+)", link or "")
    return int(match.group(1)) if match else None


def _updated(raw: Any) -> datetime | None:
    try:
        return parse_precise(raw["updated_at"])
    except MALFORMED:
        return None


def _text(at: datetime | None) -> str | None:
    return None if at is None else format_precise(at)
