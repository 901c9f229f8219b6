"""data_quality: unmapped statuses, impossible item timelines and missing evidence."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, detect, healthy_team

from insights.detectors import data_quality
from insights.findings import Severity
from insights.model import FlagChange


def test_items_in_a_status_missing_from_the_workflow_are_reported_per_status() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("Design", ago(days=3)))
    builder.issue("A-2", ("Design", ago(days=2)))
    builder.issue("A-3", ("UAT", ago(days=2)))
    builder.issue("A-4", ("In Progress", ago(days=2)))
    findings = {f.dedupe_key: f for f in detect(data_quality, builder.build())}
    assert set(findings) == {
        "data_quality:payments:unmapped_status:design",
        "data_quality:payments:unmapped_status:uat",
    }
    design = findings["data_quality:payments:unmapped_status:design"]
    assert design.severity is Severity.WARN
    assert design.item_keys == ("A-1", "A-2")
    assert design.title == (
        "2 items in status 'Design', which the team's workflow does not map to a stage: A-1, A-2"
    )
    assert "app.yaml" in design.action


def test_without_a_workflow_no_status_is_called_unmapped() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("Design", ago(days=3)))
    assert detect(data_quality, builder.build(statuses=())) == []


def test_impossible_timelines_are_grouped_by_problem() -> None:
    builder = SnapshotBuilder()
    builder.issue("EARLY", ("In Progress", ago(days=5)), created=ago(days=3))
    builder.issue(
        "RESOLVED", ("In Progress", ago(days=5)), ("Done", ago(days=4)), resolved=ago(days=9)
    )
    builder.issue("JUMP", ("Done", ago(days=2)))
    merged_early = builder.pr(1, ago(days=2), merged=ago(days=3))
    findings = {f.dedupe_key.rsplit(":", 1)[1]: f for f in detect(data_quality, builder.build())}
    assert set(findings) == {
        "transition_before_created",
        "resolved_before_created",
        "done_without_start",
    }
    # the merge transition of the pull request is dated before its creation too
    assert findings["transition_before_created"].item_keys == ("EARLY", merged_early.key)
    assert findings["resolved_before_created"].item_keys == ("RESOLVED", merged_early.key)
    assert findings["resolved_before_created"].severity is Severity.WARN
    assert findings["done_without_start"].item_keys == ("JUMP",)
    assert findings["done_without_start"].severity is Severity.INFO
    assert findings["done_without_start"].title == (
        "1 item went to done without ever being in progress: JUMP"
    )


def test_long_lists_of_items_are_shortened_in_the_title() -> None:
    builder = SnapshotBuilder()
    for n in range(8):
        builder.issue(f"J-{n}", ("Done", ago(days=2, hours=n)))
    [finding] = detect(data_quality, builder.build())
    assert finding.title.endswith("J-0, J-1, J-2, J-3, J-4 and 3 more")
    assert len(finding.item_keys) == 8


def test_a_healthy_team_has_clean_data() -> None:
    assert detect(data_quality, healthy_team().build()) == []


def test_impossible_dates_of_every_kind_of_item_are_listed_in_the_snapshots_order() -> None:
    builder = SnapshotBuilder()
    builder.issue("B-1", ("In Progress", ago(days=5)), created=ago(days=3))
    builder.issue("EPIC", ("In Progress", ago(days=5)), created=ago(days=3), type="Epic")
    builder.issue("B-2", ("In Progress", ago(days=5)), created=ago(days=4))
    builder.issue("LATER", ("In Progress", ago(days=5)), created=ago(days=-1))  # after now
    [finding] = detect(data_quality, builder.build())
    assert finding.evidence["problem"] == "transition_before_created"
    assert finding.item_keys == ("B-1", "EPIC", "B-2")  # epics have no timeline but count


def test_items_blocked_by_an_unreadable_change_are_named() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=5)), flags=[(ago(days=4), True)])
    inferred = builder.issue("A-2", ("In Progress", ago(days=5)))
    builder.flags[inferred.id] = [
        FlagChange(inferred.id, ago(days=4), True),
        FlagChange(inferred.id, ago(days=3), False),
        FlagChange(inferred.id, ago(days=1), True, inferred=True),
    ]
    [finding] = detect(data_quality, builder.build())
    assert finding.dedupe_key == "data_quality:payments:flag_start_unknown"
    assert finding.item_keys == ("A-2",)
    assert finding.severity is Severity.WARN
    assert finding.title == (
        "1 item flagged by a change the source could not read (blocked time counted from the "
        "earliest evidence, maybe too short): A-2"
    )
