"""WIP over limit: more items in progress than the team agreed, in total or in one status.

The team limit is ``agreements.wip_limit`` (items waiting, active or blocked), the per-status
limits are ``agreements.wip_limits`` (status names matched case-insensitively). A limit is a
maximum: reaching it is fine, going over warns, going over by half again is critical.
"""

from __future__ import annotations

from collections import defaultdict

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import dedupe_key, plural
from insights.findings import Finding, Severity

NAME = "wip_over_limit"
CRITICAL_FACTOR = 1.5
"""Over the limit by this factor (e.g. 15 items for a limit of 10) is critical."""


def _severity(count: int, limit: int) -> Severity | None:
    if count <= limit:
        return None
    return Severity.CRITICAL if count >= limit * CRITICAL_FACTOR else Severity.WARN


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for the team's WIP over its limit and for each status over its own limit."""
    findings = []
    in_progress = ctx.in_progress
    limit = ctx.agreements.wip_limit
    severity = None if limit is None else _severity(len(in_progress), limit)
    if limit is not None and severity is not None:
        findings.append(
            Finding(
                detector=NAME,
                severity=severity,
                subject="team",
                title=(
                    f"The team has {plural(len(in_progress), 'item')} in progress, over its WIP "
                    f"limit of {limit}"
                ),
                action=(
                    "Stop starting, start finishing: help finish an item in progress before "
                    "anyone pulls a new one."
                ),
                dedupe_key=dedupe_key(NAME, ctx.team, "team"),
                evidence={"wip_items": len(in_progress), "wip_limit_items": limit},
                item_keys=tuple(t.item.key for t in in_progress),
            )
        )
    by_status: dict[str, list[str]] = defaultdict(list)
    for timeline in in_progress:
        by_status[timeline.item.status.lower()].append(timeline.item.key)
    for status, status_limit in ctx.agreements.wip_limits.items():
        keys = by_status.get(status.lower(), [])
        severity = _severity(len(keys), status_limit)
        if severity is None:
            continue
        findings.append(
            Finding(
                detector=NAME,
                severity=severity,
                subject="team",
                title=(
                    f"{status} holds {plural(len(keys), 'item')}, over its WIP limit of "
                    f"{status_limit}"
                ),
                action=(
                    f"Help move work out of {status} (review, test, unblock) before pulling more "
                    "into it."
                ),
                dedupe_key=dedupe_key(NAME, ctx.team, "status", status.lower()),
                evidence={
                    "status": status,
                    "wip_items": len(keys),
                    "wip_limit_items": status_limit,
                },
                item_keys=tuple(keys),
            )
        )
    return findings
