"""Large pull request: an open one changing more lines than ``agreements.large_pr_lines``.

Lines are additions plus deletions. A heads-up (info) past the agreement, a warning past twice
it: large changes wait longer for review and hide more defects. Drafts are left alone.
"""

from __future__ import annotations

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import authored, dedupe_key
from insights.findings import Finding, Severity
from insights.model import WorkItem

NAME = "pr_large"
WARN_FACTOR = 2
"""Past this multiple of the agreement a large pull request warns."""


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for open pull requests larger than the team's guideline."""
    limit = ctx.agreements.large_pr_lines
    candidates = []
    for pr, _ in ctx.open_pull_requests():
        if pr.draft or (pr.additions is None and pr.deletions is None):
            continue
        lines = (pr.additions or 0) + (pr.deletions or 0)
        if lines > limit:
            severity = Severity.WARN if lines > limit * WARN_FACTOR else Severity.INFO
            candidates.append((Candidate.of(severity, lines, pr.key), (pr, lines, severity)))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"open change more than {limit} lines each"),
        "Agree how the team slices work so that pull requests stay small.",
    )


def _finding(ctx: DetectionContext, pr: WorkItem, lines: int, severity: Severity) -> Finding:
    limit = ctx.agreements.large_pr_lines
    return Finding(
        detector=NAME,
        severity=severity,
        subject=pr.key,
        title=f"{pr.key} changes {lines} lines, more than the team's {limit}-line guideline",
        action=(
            "Split it into pull requests a reviewer can read in one sitting, or walk a reviewer "
            "through it."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "changed_lines": lines,
            "additions_lines": pr.additions or 0,
            "deletions_lines": pr.deletions or 0,
            "large_pr_lines": limit,
        },
        item_keys=(pr.key, *pr.linked_keys),
        url=pr.url,
        **authored(pr),
    )
