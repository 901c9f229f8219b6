"""Past MAX_ITEM_FINDINGS items, a detector reports the worst ones and rolls the rest up."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, detect

from insights.detectors import stale_item
from insights.detectors.support.ranking import (
    MAX_ITEM_FINDINGS,
    Candidate,
    more_items,
    report_worst,
)
from insights.findings import Finding, Severity


def test_the_worst_items_get_findings_and_the_rest_one_roll_up() -> None:
    builder = SnapshotBuilder()
    extra = 7
    for n in range(MAX_ITEM_FINDINGS + extra):  # S-0 is the stalest, 5 + 60 days quiet
        builder.issue(f"S-{n}", ("In Progress", ago(days=65 - n)), created=ago(days=70))
    findings = detect(stale_item, builder.build())
    assert len(findings) == MAX_ITEM_FINDINGS + 1
    *items, rolled_up = findings
    assert [f.subject for f in items] == [f"S-{n}" for n in range(MAX_ITEM_FINDINGS)]
    assert rolled_up.subject == "team"
    assert rolled_up.dedupe_key == "stale_item:payments:more"
    assert rolled_up.item_keys == tuple(
        f"S-{n}" for n in range(MAX_ITEM_FINDINGS, MAX_ITEM_FINDINGS + extra)
    )
    assert rolled_up.title == "7 more items in progress have not changed for over 5 days"
    assert rolled_up.evidence["items"] == extra
    assert rolled_up.severity is Severity.WARN  # the worst of the rest, S-50: 15 days, not past 3x5


def test_severity_comes_before_magnitude() -> None:
    candidates = [
        (Candidate.of(Severity.INFO, 100.0, "A"), "A"),
        (Candidate.of(Severity.CRITICAL, 1.0, "B"), "B"),
        (Candidate.of(Severity.WARN, 5.0, "C"), "C"),
        (Candidate.of(Severity.WARN, 9.0, "D"), "D"),
    ]

    def build(key: str) -> Finding:
        return Finding("x", Severity.INFO, key, key, "act", f"x:t:{key}")

    findings = report_worst("x", "t", candidates, build, lambda n: f"{n} more", "act", limit=2)
    assert [f.subject for f in findings] == ["B", "D", "team"]
    assert findings[-1].item_keys == ("C", "A")
    assert findings[-1].severity is Severity.WARN
    assert findings[-1].evidence["info_items"] == 1


def test_roll_up_wording_groups_thousands() -> None:
    assert more_items(1, "were merged") == "1 more item were merged"
    assert more_items(12345, "moved back") == "12,345 more items moved back"
