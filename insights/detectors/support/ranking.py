"""The worst items get a finding each; the rest are rolled up into one finding about the team.

A team with thousands of neglected items in progress (a common sight in a large tracker) would
otherwise get thousands of alerts, which nobody reads and which cost the report its speed. Each
item detector therefore ranks its candidates (most severe first, then by how far past the
threshold they are), builds full findings for the first ``MAX_ITEM_FINDINGS`` and one roll-up
finding, keyed ``<detector>:<team>:more``, that names every other item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import NamedTuple, TypeVar

from insights.detectors.support.wording import dedupe_key, plural
from insights.findings import Finding, Severity

MAX_ITEM_FINDINGS = 50
"""Item findings per detector and run; no agreement field sets it yet."""

T = TypeVar("T")
_ORDER = {Severity.CRITICAL: 0, Severity.WARN: 1, Severity.INFO: 2}


class Candidate(NamedTuple):
    """An item a detector would report: how bad, how far past its threshold, and its key.

    Candidates sort worst first by plain tuple comparison (no key function: a detector may rank
    tens of thousands of them): ``order`` puts critical before warn before info, ``lateness`` is
    the negated magnitude.
    """

    order: int
    lateness: float
    key: str
    severity: Severity

    @classmethod
    def of(cls, severity: Severity, magnitude: float, key: str) -> Candidate:
        """A candidate of ``severity``; a larger ``magnitude`` (e.g. days past) is worse."""
        return cls(_ORDER[severity], -magnitude, key, severity)


def report_worst(
    detector: str,
    team: str,
    candidates: Sequence[tuple[Candidate, T]],
    build: Callable[[T], Finding],
    more: Callable[[int], str],
    action: str,
    limit: int = MAX_ITEM_FINDINGS,
) -> list[Finding]:
    """Findings for the ``limit`` worst candidates, and one roll-up for the rest.

    ``build`` makes the finding of one candidate's payload; ``more(n)`` words the roll-up's
    title for ``n`` further items ("12 more items have not changed for ...").
    """
    ordered = sorted(candidates, key=itemgetter(0))
    findings = [build(payload) for _, payload in ordered[:limit]]
    rest = [candidate for candidate, _ in ordered[limit:]]
    if rest:
        counts = {s: sum(1 for c in rest if c.severity is s) for s in Severity}
        findings.append(
            Finding(
                detector=detector,
                severity=rest[0].severity,
                subject="team",
                title=more(len(rest)),
                action=action,
                dedupe_key=dedupe_key(detector, team, "more"),
                evidence={
                    "items": len(rest),
                    **{f"{s.value}_items": n for s, n in counts.items()},
                    "shown_individually_items": limit,
                },
                item_keys=tuple(c.key for c in rest),
            )
        )
    return findings


def more_items(count: int, what: str) -> str:
    """Roll-up wording: "1,204 more items " + ``what``."""
    noun = plural(count, "more item").replace(str(count), f"{count:,}", 1)
    return f"{noun} {what}"
