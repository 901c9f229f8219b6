"""queue_growing: a waiting status whose item count kept climbing over two weeks."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, context, detect

from insights.detectors import queue_growing
from insights.findings import Severity


def arrive(
    builder: SnapshotBuilder, prefix: str, days_ago: list[float], leave: float | None
) -> None:
    """Items entering Ready for QA ``days_ago``; they move on to QA after ``leave`` days."""
    for n, entered in enumerate(days_ago):
        moves = [("In Progress", ago(days=entered + 1)), ("Ready for QA", ago(days=entered))]
        if leave is not None and entered - leave > 0:
            moves.append(("QA", ago(days=entered - leave)))
        builder.issue(f"{prefix}-{n}", *moves)


def test_daily_counts_sample_each_status_at_this_hour_of_each_day() -> None:
    builder = SnapshotBuilder()
    arrive(builder, "Q", [13.5, 10.5, 6.5, 2.5], leave=None)
    counts = queue_growing.daily_counts(context(builder.build()))
    assert counts["Ready for QA"] == [0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4]
    assert set(counts) == {"Ready for QA"}  # active statuses are not queues


def test_a_piling_queue_warns() -> None:
    builder = SnapshotBuilder()
    arrive(builder, "OLD", [20], leave=None)  # one item there all along
    arrive(builder, "NEW", [12.5, 10.5, 8.5, 5.5, 3.5, 1.5], leave=None)
    [finding] = detect(queue_growing, builder.build())
    assert finding.severity is Severity.WARN
    assert finding.title == "Ready for QA is piling up: 7 items now, up from 1 two weeks ago"
    assert finding.evidence["queue_items_now"] == 7
    assert finding.evidence["queue_items_14_days_ago"] == 1
    assert len(finding.item_keys) == 7
    assert finding.dedupe_key == "queue_growing:payments:ready for qa"


def test_a_steady_queue_is_fine() -> None:
    builder = SnapshotBuilder()
    arrive(builder, "S", [d + 0.5 for d in range(0, 30, 2)], leave=8)  # about 4 there any day
    counts = queue_growing.daily_counts(context(builder.build()))["Ready for QA"]
    assert min(counts) >= 3 and max(counts) <= 5
    assert detect(queue_growing, builder.build()) == []


def test_a_draining_queue_is_fine() -> None:
    builder = SnapshotBuilder()
    arrive(builder, "D", [20, 19, 18, 17, 16, 15], leave=8)  # all leave during the window
    assert queue_growing.daily_counts(context(builder.build()))["Ready for QA"][0] == 6
    assert detect(queue_growing, builder.build()) == []


def test_a_rise_of_fewer_than_three_items_is_noise() -> None:
    builder = SnapshotBuilder()
    arrive(builder, "N", [10.5, 3.5], leave=None)
    assert detect(queue_growing, builder.build()) == []
