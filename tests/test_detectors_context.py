"""The shared statistics of a detection run: stays, percentiles, review facts, wording."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from detector_fixtures import NOW, SnapshotBuilder, ago, context, history

from insights.agreements import Agreements
from insights.detectors.support.review_facts import is_bot, review_facts
from insights.detectors.support.severity import past_threshold
from insights.detectors.support.wording import days, duration, ordinal
from insights.findings import Severity
from insights.model import ReviewState, Stage


def test_stays_follow_the_history_and_skip_stages_out_of_progress() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "A-1",
        ("Selected", ago(days=5)),
        ("In Progress", ago(days=4)),
        ("Done", ago(days=2)),
        ("QA", ago(days=1)),
    )
    stays = context(builder.build()).stays
    assert [(s.status, s.stage, s.entered, s.left) for s in stays] == [
        ("QA", Stage.ACTIVE, ago(days=1), None),
        ("In Progress", Stage.ACTIVE, ago(days=4), ago(days=2)),
        ("Selected", Stage.WAITING, ago(days=5), ago(days=4)),
    ]


def test_stays_cover_the_last_30_days_and_durations_the_look_back() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=200)), ("QA", ago(days=150)), ("Done", ago(1)))
    builder.issue("A-2", ("In Progress", ago(days=200)), ("Done", ago(days=199)))
    for n in range(5):  # five day-long reviews that ended two months ago
        builder.issue(
            f"R-{n}", ("Code Review", ago(days=61 + n)), ("QA", ago(days=60 + n)), ("Done", ago(50))
        )
    ctx = context(builder.build(), Agreements(history_days=90))
    assert [(s.item.key, s.status) for s in ctx.stays] == [("A-1", "QA")]
    assert ctx.time_in_status_seconds["Code Review"][95] == 86400
    assert context(builder.build(), Agreements(history_days=40)).time_in_status_seconds == {}


def test_an_item_created_in_progress_stays_there_from_creation() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", created=ago(days=3), first_status="In Progress")
    [stay] = context(builder.build()).stays
    assert (stay.status, stay.entered, stay.left) == ("In Progress", ago(days=3), None)


def test_transitions_after_now_are_ignored_by_the_stays() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=3)), ("QA", NOW + timedelta(days=1)))
    [stay] = context(builder.build()).stays
    assert (stay.status, stay.left) == ("In Progress", None)


def test_cycle_time_percentiles_need_five_finished_items() -> None:
    builder = SnapshotBuilder()
    history(builder, [1, 2, 3, 4])
    assert context(builder.build()).cycle_time_days is None
    history(builder, [5], prefix="X")
    stats = context(builder.build()).cycle_time_days
    assert stats is not None and stats.count == 5


def test_cycle_time_percentiles_use_calendar_days_and_nearest_rank() -> None:
    builder = SnapshotBuilder()
    history(builder, [n - 0.5 for n in range(1, 11)])  # AA days 1..10 (start and end days +1)
    stats = context(builder.build()).cycle_time_days
    assert stats is not None
    assert {p: stats[p] for p in (50, 70, 85, 95)} == {50: 5, 70: 7, 85: 9, 95: 10}
    assert len(stats.item_keys) == 10


def test_items_finished_before_the_look_back_do_not_count() -> None:
    builder = SnapshotBuilder()
    history(builder, [1, 2, 3, 4, 5])
    for n in range(5):
        builder.finished(f"OLD-{n}", ago(days=120), 30)
    stats = context(builder.build(), Agreements(history_days=60)).cycle_time_days
    assert stats is not None and stats.count == 5


def test_time_in_status_percentiles_come_from_finished_stays() -> None:
    builder = SnapshotBuilder()
    for n in range(1, 7):
        builder.issue(
            f"R-{n}", ("Code Review", ago(days=10 + n)), ("QA", ago(days=10 + n, hours=-n))
        )
    builder.issue("R-9", ("Code Review", ago(days=40)))  # still there: not a finished stay
    stats = context(builder.build()).time_in_status_seconds
    assert set(stats) == {"Code Review"}  # QA has one stay per item, but they are unfinished
    assert stats["Code Review"].count == 6
    assert stats["Code Review"][95] == 6 * 3600


def test_review_facts_follow_the_waiting_since_rule() -> None:
    builder = SnapshotBuilder()
    pr = builder.pr(
        1,
        ago(days=5),
        (ago(days=5), ReviewState.REQUESTED, "ben"),
        (ago(days=4), ReviewState.CHANGES_REQUESTED, "ben"),
        (ago(days=3), ReviewState.READY_FOR_REVIEW, None),
        (ago(days=2), ReviewState.REQUESTED, "chen"),
        (ago(days=1), ReviewState.REQUESTED, "dependabot[bot]"),
    )
    facts = review_facts(pr, builder.build().reviews[pr.id], NOW)
    assert facts.waiting_since == ago(days=2)
    assert not facts.reviewed_since_waiting
    assert facts.first_review_at == ago(days=4)
    assert facts.approved_at is None
    assert facts.requested_reviewers == ("chen",)
    assert facts.reviewers == ("ben",)


def test_review_facts_ignore_the_author_and_bots_but_not_an_unknown_author() -> None:
    builder = SnapshotBuilder()
    reviews = (
        (ago(days=2), ReviewState.APPROVED, "ana"),
        (ago(days=1), ReviewState.COMMENTED, "renovate[bot]"),
    )
    pr = builder.pr(1, ago(days=3), *reviews, author="ana")
    anonymous = builder.pr(2, ago(days=3), *reviews, author=None)  # type: ignore[arg-type]
    snapshot = builder.build()
    assert review_facts(pr, snapshot.reviews[pr.id], NOW).first_review_at is None
    facts = review_facts(anonymous, snapshot.reviews[anonymous.id], NOW)
    assert facts.first_review_at == ago(days=2)
    assert facts.approved_at == ago(days=2)


def test_an_approval_stands_only_while_no_reviewer_asks_for_changes() -> None:
    builder = SnapshotBuilder()
    pr = builder.pr(
        1,
        ago(days=3),
        (ago(days=2), ReviewState.APPROVED, "ben"),
        (ago(days=1), ReviewState.CHANGES_REQUESTED, "chen"),
    )
    approved = builder.pr(
        2,
        ago(days=3),
        (ago(days=2), ReviewState.CHANGES_REQUESTED, "chen"),
        (ago(days=1), ReviewState.APPROVED, "chen"),
        (ago(hours=5), ReviewState.COMMENTED, "ben"),
    )
    snapshot = builder.build()
    assert review_facts(pr, snapshot.reviews[pr.id], NOW).approved_at is None
    assert review_facts(approved, snapshot.reviews[approved.id], NOW).approved_at == ago(days=1)


@pytest.mark.parametrize(
    ("login", "bot"),
    [("dependabot[bot]", True), ("Renovate", True), ("ana", False), (None, False)],
)
def test_bots_are_recognised(login: str | None, bot: bool) -> None:
    assert is_bot(login) is bot


def test_severity_helpers() -> None:
    assert past_threshold(24, 24) is None
    assert past_threshold(25, 24) is Severity.WARN
    assert past_threshold(73, 24) is Severity.CRITICAL


def test_wording() -> None:
    assert duration(45 * 60) == "45 minutes"
    assert duration(30 * 3600) == "30 hours"
    assert duration(6.5 * 86400) == "6.5 days"
    assert days(1) == "1 day" and days(6.0) == "6 days" and days(3.24) == "3.2 days"
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 13, 22, 85)] == [
        "1st", "2nd", "3rd", "11th", "12th", "13th", "22nd", "85th",
    ]  # fmt: skip


def test_local_dates_follow_the_team_time_zone() -> None:
    ctx = context(SnapshotBuilder().build(), tz=ZoneInfo("Pacific/Auckland"))
    assert ctx.today == (NOW + timedelta(hours=13)).date()
    assert context(SnapshotBuilder().build(), tz=UTC).today == NOW.date()


def test_items_created_after_now_are_left_out_of_every_statistic() -> None:
    builder = SnapshotBuilder()
    history(builder, [1, 2, 3, 4, 5])
    builder.issue("LATER", ("In Progress", ago(days=2)), created=NOW + timedelta(days=1))
    ctx = context(builder.build())
    assert "LATER" not in {t.item.key for t in ctx.timelines}
    assert "LATER" not in {s.item.key for s in ctx.stays}
    assert ctx.cycle_time_days is not None and ctx.cycle_time_days.count == 5
    assert [item.key for _, item in ctx.other_items] == ["LATER"]  # no timeline here
