"""Data quality: statuses the workflow does not map, and items whose history cannot be true.

- Unmapped status (warn): an item sits in a status that is not in the team's workflow
  (``snapshot.statuses``), so its stage was guessed from the vendor's category (METRICS 1.1).
- Impossible timelines, one team finding per kind with the items behind it: a transition before
  the item was created (warn), resolved before created (warn), done without ever starting (an
  issue that reached done straight from the backlog: its cycle time is zero; info).
- Missing evidence: an item blocked by a change its source could not read (warn). The block is
  timed from the earliest evidence (an ``inferred`` flag change), so its blocked time may be short.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import dedupe_key, plural
from insights.findings import Finding, Severity

NAME = "data_quality"

_CHECKS = {
    "transition_before_created": (
        Severity.WARN,
        "have status changes dated before they were created",
        "Check the source's clock and time zone settings; these items' cycle times are wrong.",
    ),
    "resolved_before_created": (
        Severity.WARN,
        "were resolved before they were created",
        "Check the source's clock and time zone settings; these items' lead times are wrong.",
    ),
    "done_without_start": (
        Severity.INFO,
        "went to done without ever being in progress",
        "Move work through the board as it happens, so cycle time and flow efficiency are real.",
    ),
    "flag_start_unknown": (
        Severity.WARN,
        "flagged by a change the source could not read (blocked time counted from the "
        "earliest evidence, maybe too short)",
        "Open these items' history in the tracker to see when they were really blocked.",
    ),
}


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for unmapped statuses and impossible item timelines."""
    by_problem: dict[str, list[str]] = defaultdict(list)
    items = ctx.snapshot.items
    for problem, positions in _impossible_histories(ctx).items():
        by_problem[problem] = [items[p].key for p in sorted(positions)]
    # METRICS 3.1 back-fills a skipped start from the finish: backlog -> done starts and finishes
    # at once; an item without any history is exempt (its source knows none)
    table = ctx.timelines.columns
    done_without_start = (table.started == table.finished) & table.has_history
    for row in np.flatnonzero(done_without_start).tolist():
        by_problem["done_without_start"].append(table.keys[row])
    unknown_starts = _inferred_flags(ctx)
    if unknown_starts:
        by_problem["flag_start_unknown"] = unknown_starts
    findings = _unmapped(ctx)
    for problem, keys in sorted(by_problem.items()):
        severity, what, action = _CHECKS[problem]
        findings.append(
            Finding(
                detector=NAME,
                severity=severity,
                subject="team",
                title=f"{plural(len(keys), 'item')} {what}: {_sample(keys)}",
                action=action,
                dedupe_key=dedupe_key(NAME, ctx.team, problem),
                evidence={"problem": problem, "items": len(keys)},
                item_keys=tuple(keys),
            )
        )
    return findings


def _impossible_histories(ctx: DetectionContext) -> dict[str, list[int]]:
    """Positions among the snapshot's items of those created by now with impossible dates.

    The flow items' facts come from their timelines' columns; the other items (pull requests,
    epics) are read directly.
    """
    found: dict[str, list[int]] = defaultdict(list)
    table = ctx.timelines.columns
    if table.positions is not None:
        for problem, mask in (
            ("transition_before_created", table.changed_before_created),
            ("resolved_before_created", table.resolved_before_created),
        ):
            if mask.any():
                found[problem] += table.positions[mask].tolist()
    now, transitions_of = ctx.now, ctx.snapshot.transitions
    for position, item in ctx.other_items:
        if item.created_at > now:
            continue
        transitions = transitions_of.get(item.id)
        if transitions and transitions[0].at < item.created_at:  # a snapshot's events are sorted
            found["transition_before_created"].append(position)
        if item.resolved_at is not None and item.resolved_at < item.created_at:
            found["resolved_before_created"].append(position)
    return found


def _inferred_flags(ctx: DetectionContext) -> list[str]:
    """Keys of the items whose flag changes include one timed from evidence, in item order."""
    flags = ctx.snapshot.flags
    return [
        item.key
        for item in ctx.snapshot.items
        if (changes := flags.get(item.id)) and any(change.inferred for change in changes)
    ]


def _unmapped(ctx: DetectionContext) -> list[Finding]:
    if not ctx.snapshot.statuses:
        return []
    known = ctx.status_order
    mapped: dict[str, bool] = {}  # by status as spelled: few statuses, many items
    by_status: dict[str, list[str]] = defaultdict(list)
    for item in ctx.snapshot.issues():
        status = item.status
        if status not in mapped:
            mapped[status] = status.lower() in known
        if not mapped[status] and item.created_at <= ctx.now:
            by_status[status].append(item.key)
    return [
        Finding(
            detector=NAME,
            severity=Severity.WARN,
            subject="team",
            title=(
                f"{plural(len(keys), 'item')} in status {status!r}, which the team's workflow "
                f"does not map to a stage: {_sample(keys)}"
            ),
            action=(
                f"Add {status!r} to the team's workflow in app.yaml with its stage (backlog, "
                "waiting, active, blocked, done or cancelled)."
            ),
            dedupe_key=dedupe_key(NAME, ctx.team, "unmapped_status", status.lower()),
            evidence={"status": status, "items": len(keys)},
            item_keys=tuple(keys),
        )
        for status, keys in sorted(by_status.items())
    ]


def _sample(keys: list[str], shown: int = 5) -> str:
    """The first few keys, and how many more."""
    head = ", ".join(keys[:shown])
    return head if len(keys) <= shown else f"{head} and {len(keys) - shown} more"
