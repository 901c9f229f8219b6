"""One voice per subject: what the detectors say about one item, merged into one finding.

The detectors each look at one kind of delay, so one neglected item can be "aging", "stale" and
"blocked" at once, and its pull request "waiting for review" as well. People should hear about
the item once, from the one person who can act. :func:`merge_by_subject` merges the detectors'
findings (see the rules below); :func:`focus` ranks the merged item findings by cost of delay for
the daily digest.

Merging rules:

- **Subject.** A finding about a work item belongs to that item. A pull request's finding joins
  the first work item the pull request is linked to (its ``linked_keys``) that the snapshot
  holds, so "PR checks on its linked PRs" speak through the item; a pull request linked to no
  known item is its own subject. Team findings (subject ``team``, roll-ups included) stay as they
  are: one per detector.
- **Severity.** The most severe of its reasons.
- **Action.** The most specific reason's, by :data:`ACTION_ORDER`: an item done whose pull
  request never merged comes first (the board is wrong), then being blocked (with what blocks
  it), then waiting on (or blocking) another team's item; these beat a review that is waiting,
  which beats an approved pull request not merged, a long review, a move back on the board, no
  change, and age. Severity breaks no tie here:
  "blocked by OPS-3" tells a person more than "old", however old.
- **People.** Who the chosen reason says can act (the assignee, the requested reviewers or the
  author); when it names no one, the first reason that does; the item's assignee last.
- **Key.** ``item:<team>:<subject>``: stable while reasons come and go, so the bot keeps one card
  per subject, updated in place, and acknowledging the card acknowledges the subject.
- **Evidence.** The chosen reason's numbers, plus ``reason_count`` and ``detectors``; every
  reason is kept whole in :attr:`~insights.findings.Finding.reasons`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from insights.findings import ASSIGNEE, REVIEWER, Finding, Severity
from insights.model import ItemKind, Snapshot, WorkItem

ITEM_DETECTOR = "item"
"""The ``detector`` of a merged item finding."""
TEAM_SUBJECT = "team"
ACTION_ORDER = (
    "done_unmerged",
    "blocked_item",
    "cross_team_wait",
    "pr_waiting_review",
    "pr_approved_unmerged",
    "pr_review_long",
    "backflow",
    "stale_item",
    "aging_item",
    "pr_large",
    "pr_merged_unreviewed",
    "untracked_merge",
    "unverified_deployment",
)
"""Detectors from the most specific action to the least; others rank after these."""
FOCUS_LIMIT = 5
BLOCKED_WEIGHT = 1.0
WAITING_PERSON_WEIGHT = 0.5
DAY = 86400.0


def _specificity(finding: Finding) -> tuple[int, int]:
    try:
        order = ACTION_ORDER.index(finding.detector)
    except ValueError:
        order = len(ACTION_ORDER)
    return order, -finding.severity.rank


def subject_of(finding: Finding, items: Mapping[str, WorkItem]) -> str:
    """The subject ``finding`` speaks about once merged (see the module docstring)."""
    if finding.subject == TEAM_SUBJECT:
        return TEAM_SUBJECT
    item = items.get(finding.subject)
    if item is not None and item.kind is ItemKind.PULL_REQUEST:
        for key in item.linked_keys:
            linked = items.get(key)
            if linked is not None and linked.kind is ItemKind.ISSUE:
                return key
    return finding.subject


def merge_by_subject(findings: Sequence[Finding], snapshot: Snapshot, team: str) -> list[Finding]:
    """One finding per subject, most severe first (team findings pass through unchanged)."""
    items = {item.key: item for item in snapshot.items if item.removed_at is None}
    groups: dict[str, list[Finding]] = {}
    merged: list[Finding] = []
    for finding in findings:
        subject = subject_of(finding, items)
        if subject == TEAM_SUBJECT:
            merged.append(finding)
        else:
            groups.setdefault(subject, []).append(finding)
    merged += [
        _merge(subject, group, items.get(subject), team) for subject, group in groups.items()
    ]
    return sorted(merged, key=lambda f: (-f.severity.rank, f.subject, f.dedupe_key))


def _merge(subject: str, reasons: list[Finding], item: WorkItem | None, team: str) -> Finding:
    ordered = sorted(reasons, key=_specificity)
    chosen = ordered[0]
    people, role = chosen.people, chosen.role
    if not people:
        named = next((r for r in ordered if r.people), None)
        if named is not None:
            people, role = named.people, named.role
        elif item is not None and item.assignee:
            people, role = (item.assignee,), ASSIGNEE
    keys = dict.fromkeys(k for r in ordered for k in (subject, *r.item_keys))
    return Finding(
        detector=ITEM_DETECTOR,
        severity=max((r.severity for r in ordered), key=lambda s: s.rank),
        subject=subject,
        title=chosen.title,
        action=chosen.action,
        dedupe_key=f"{ITEM_DETECTOR}:{team}:{subject}",
        evidence={
            **chosen.evidence,
            "reason_count": len(ordered),
            "detectors": ", ".join(dict.fromkeys(r.detector for r in ordered)),
        },
        item_keys=tuple(keys),
        url=(item.url if item is not None and item.url else chosen.url),
        people=people,
        role=role,
        reasons=tuple(ordered),
    )


@dataclass(frozen=True)
class FocusItem:
    """A merged item finding with its cost of delay and the parts the cost is made of."""

    finding: Finding
    cost: float
    age_days: float | None
    age_ratio: float
    blocked: bool
    people_waiting: int


def focus(
    merged: Sequence[Finding],
    snapshot: Snapshot,
    now: datetime,
    ages_seconds: Mapping[str, float | None],
    cycle_time_p85_seconds: float | None,
    limit: int = FOCUS_LIMIT,
) -> list[FocusItem]:
    """The ``limit`` item findings (warn or worse) that cost the most to leave waiting.

    Cost of delay, documented in the README: ``severity rank (warn 1, critical 2) + age / p85
    cycle time + 1 if blocked + 0.5 per person waiting`` (the items it blocks and the reviewers
    its pull requests wait on). An age is the item's work item age (``ages_seconds``, from the
    report), or a pull request's time since it was opened; without a p85 the age part is 0.
    Highest cost first; ties by subject.
    """
    items = {item.key: item for item in snapshot.items if item.removed_at is None}
    blocks: dict[str, int] = {}
    for open_item in items.values():
        if not open_item.stage.finished:
            for key in open_item.blocked_by:
                blocks[key] = blocks.get(key, 0) + 1
    ranked = []
    for finding in merged:
        if finding.subject == TEAM_SUBJECT or finding.severity.rank < Severity.WARN.rank:
            continue
        age = ages_seconds.get(finding.subject)
        item = items.get(finding.subject)
        if age is None and item is not None and item.kind is ItemKind.PULL_REQUEST:
            age = max(0.0, (now - item.created_at).total_seconds())
        ratio = age / cycle_time_p85_seconds if age and cycle_time_p85_seconds else 0.0
        blocked = any(r.detector == "blocked_item" for r in finding.reasons)
        reviewers = {p for r in finding.reasons if r.role == REVIEWER for p in r.people}
        waiting = blocks.get(finding.subject, 0) + len(reviewers)
        cost = (
            finding.severity.rank
            + ratio
            + (BLOCKED_WEIGHT if blocked else 0.0)
            + WAITING_PERSON_WEIGHT * waiting
        )
        ranked.append(
            FocusItem(finding, round(cost, 3), age / DAY if age else None, ratio, blocked, waiting)
        )
    ranked.sort(key=lambda f: (-f.cost, f.finding.subject))
    return ranked[:limit]
