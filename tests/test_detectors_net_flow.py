"""net_flow: more items started than finished over the last week."""

from __future__ import annotations

from datetime import timedelta

from detector_fixtures import SnapshotBuilder, ago, detect

from insights.agreements import Agreements
from insights.detectors import net_flow
from insights.findings import Severity


def team(started: int, finished: int) -> SnapshotBuilder:
    builder = SnapshotBuilder()
    for n in range(started):
        builder.issue(f"S-{n}", ("In Progress", ago(days=1 + n % 5)))
    for n in range(finished):
        builder.finished(f"F-{n}", ago(days=9), 8 - n % 3)
    builder.issue("OLD", ("In Progress", ago(days=8)))  # started before the week
    return builder


def test_starting_more_than_finishing_is_a_heads_up() -> None:
    [finding] = detect(net_flow, team(5, 2).build())
    assert finding.severity is Severity.INFO
    assert finding.title == (
        "The team started 5 items and finished 2 in the last 7 days: work in progress is growing"
    )
    assert finding.evidence["net_flow_items"] == 3
    assert set(finding.item_keys) == {f"S-{n}" for n in range(5)}


def test_it_warns_when_the_team_is_already_over_its_wip_limit() -> None:
    [finding] = detect(net_flow, team(5, 2).build(), Agreements(wip_limit=4))
    assert finding.severity is Severity.WARN
    assert finding.title.endswith("past its limit of 4")


def test_finishing_as_much_as_starting_is_fine() -> None:
    assert detect(net_flow, team(3, 3).build()) == []


def test_the_week_is_the_last_seven_days() -> None:
    snapshot = team(5, 2).build()
    assert detect(net_flow, snapshot, now=ago(days=-10)) == []
    assert detect(net_flow, snapshot, now=ago() + timedelta(days=3)) != []
