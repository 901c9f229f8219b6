"""DORA metrics (METRICS.md 2.3 and 2.6) on a hand-built month of deployments and incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from insights.deployments import (
    attribute_incidents,
    ceil_minutes,
    first_review_at,
    is_bot,
    pr_lead_times,
)
from insights.dora import dora_metrics, dora_weekly, unplanned_deployments
from insights.dora_bands import (
    change_failure_band,
    deployment_frequency_band,
    lead_time_band,
    recovery_band,
)
from insights.model import (
    Deployment,
    Incident,
    ItemKind,
    Outcome,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    WorkItem,
)

START = datetime(2026, 3, 2, tzinfo=UTC)  # Monday
END = datetime(2026, 3, 30, tzinfo=UTC)  # four weeks later


def t(day: int, hour: float = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def pr(
    n: int,
    created: datetime,
    merged: datetime,
    first_commit: datetime | None = None,
    author: str | None = "bob",
    title: str = "Add a thing",
    linked: tuple[str, ...] = (),
) -> WorkItem:
    return WorkItem(
        id=f"github:pr:acme/api#{n}",
        team="t",
        source="github",
        key=f"acme/api#{n}",
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title=title,
        status="merged",
        stage=Stage.DONE,
        created_at=created,
        updated_at=merged,
        resolved_at=merged,
        author=author,
        merged_at=merged,
        first_commit_at=first_commit,
        head_branch=f"feature/{n}",
        linked_keys=linked,
    )


def deploy(
    name: str,
    finished: datetime,
    ships: tuple[int, ...] = (),
    outcome: Outcome = Outcome.SUCCESS,
    environment: str = "production",
    repo: str = "acme/api",
) -> Deployment:
    return Deployment(
        id=name,
        team="t",
        source="github",
        environment=environment,
        outcome=outcome,
        finished_at=finished,
        started_at=finished - timedelta(minutes=10),
        repo=repo,
        shipped_item_ids=tuple(f"github:pr:acme/api#{n}" for n in ships),
        production=environment == "production",  # as a source configured for "production"
    )


def incident(
    name: str, created: datetime, resolved: datetime | None, deployment: str | None = None
) -> Incident:
    return Incident(
        id=name,
        team="t",
        source="pagerduty",
        title=name,
        created_at=created,
        resolved_at=resolved,
        deployment_id=deployment,
    )


def review(n: int, when: datetime, state: ReviewState, who: str | None) -> ReviewEvent:
    return ReviewEvent(f"github:pr:acme/api#{n}", when, state, who)


def month() -> Snapshot:
    prs = [
        pr(0, t(20, 9, 2), t(22, 9, 2), t(19, 9, 2)),
        # first commit 1 Mar 10:00, opened 12:00, merged 2 Mar 10:00:30, deployed 14:00
        pr(1, t(1, 12), t(2, 10) + timedelta(seconds=30), t(1, 10)),
        pr(2, t(2, 10), t(3, 11), t(2, 9), author=None),  # no author: anyone reviews
        pr(3, t(10, 8), t(10, 8.5), title="Hotfix: card declines"),  # first commit unknown
        pr(4, t(23, 10), t(24, 12.5), t(23, 9)),  # merged after its deployment finished
    ]
    deployments = [
        deploy("d0", t(23, 10, 2), (0,)),  # the repo's first-ever deployment: a baseline
        deploy("d1", t(2, 14), (1,)),
        deploy("d1-failed", t(3, 10), (2,), outcome=Outcome.FAILURE),
        deploy("d2", t(3, 12), (2,)),
        deploy("d3-staging", t(3, 16), (3,), environment="staging"),
        deploy("d4", t(10, 9), (3,)),
        deploy("d5", t(24, 11), (4,)),
    ]
    incidents = [
        incident("I0", t(20, 9, 2), t(20, 12, 2)),  # before any deployment
        incident("I1", t(2, 15), t(2, 17)),  # -> d1
        incident("I2", t(2, 16), t(3, 12.5)),  # -> d1 again; still open when d2 starts
        incident("I3", t(10, 9), t(10, 10)),  # created the instant d4 finished -> d2
        incident("I4", t(24, 11.5), None, deployment="d5"),  # attributed by its source
    ]
    reviews = {
        prs[1].id: [
            review(1, t(1, 12.08), ReviewState.REQUESTED, "carol"),
            review(1, t(1, 12.5), ReviewState.COMMENTED, "dependabot[bot]"),
            review(1, t(1, 13), ReviewState.COMMENTED, "bob"),
            review(1, t(1, 14), ReviewState.APPROVED, "carol"),
        ],
        prs[2].id: [review(2, t(2, 10.5), ReviewState.COMMENTED, "alice")],
    }
    return Snapshot(
        team="t",
        items=prs,
        transitions={},
        flags={},
        reviews=reviews,
        deployments=deployments,
        incidents=incidents,
    )


def test_deployments_are_successful_production_ones_counted_once() -> None:  # METRICS 5.11
    metrics = dora_metrics(month(), START, END, UTC)
    # d1-failed and d3-staging do not count, and do not stop d2 (same PR) from counting.
    assert metrics.deployment_ids == ("d1", "d2", "d4", "d5")
    assert metrics.deployment_count == 4
    assert metrics.deployment_frequency_per_week == 1.0
    # Deployment days per Monday week: 2 (2nd, 3rd), 1 (10th), 0, 1 (24th): lower median 1.
    assert metrics.deployment_days_median_per_week == 1
    assert metrics.deployment_days_median_per_month == 4
    assert metrics.bands["deployment_frequency"] == "high"
    # Gaps 22 h, 165 h, 338 h.
    assert metrics.median_hours_between_deploys == 165


def test_a_deployment_the_source_calls_production_counts_whatever_its_environment_name() -> None:
    snapshot = month()
    renamed = [replace(d, environment="prod-eu") for d in snapshot.deployments]
    metrics = dora_metrics(replace(snapshot, deployments=renamed), START, END, UTC)
    assert metrics.deployment_ids == ("d1", "d2", "d4", "d5")


def test_lead_time_for_changes_is_devlakes_pull_request_cycle_time() -> None:
    by_key = {p.pr_key: p for p in pr_lead_times(month())}
    # PR 0 shipped with the repo's first-ever deployment: no baseline, no lead time (5.10).
    assert set(by_key) == {"acme/api#1", "acme/api#2", "acme/api#3", "acme/api#4"}
    one = by_key["acme/api#1"]
    # coding 120; opened -> merged 22 h 0 min 30 s -> 1321 (rounded up); deploy 3 h 59.5 min -> 240
    assert (one.coding_minutes, one.deploy_minutes, one.cycle_minutes) == (120, 240, 1681)
    # The bot's and the author's comments are not a pickup: carol's approval at 14:00 is.
    assert (one.pickup_minutes, one.review_minutes) == (120, 1201)
    two = by_key["acme/api#2"]
    assert (two.deployment_id, two.deploy_minutes, two.pickup_minutes) == ("d2", 60, 30)
    three = by_key["acme/api#3"]
    assert (three.coding_minutes, three.cycle_minutes) == (None, 60)
    # Deployed before it was merged: the deploy span is None (5.8), the rest still counts.
    four = by_key["acme/api#4"]
    assert (four.deploy_minutes, four.cycle_minutes) == (None, 60 + 1590)


def test_lead_time_median_is_the_lower_median() -> None:  # METRICS 5.14
    metrics = dora_metrics(month(), START, END, UTC)
    # cycle minutes 1681, 1620, 60, 1650: lower median 1620, linear 1635
    assert metrics.lead_time_for_changes_seconds_median == 1620 * 60
    assert metrics.lead_time_for_changes_seconds_median_linear == 1635 * 60
    assert metrics.bands["lead_time_for_changes"] == "high"
    assert [p.pr_key for p in metrics.lead_times] == [
        "acme/api#1",
        "acme/api#2",
        "acme/api#3",
        "acme/api#4",
    ]


def test_change_failure_rate_counts_a_deployment_once() -> None:  # METRICS 5.12
    metrics = dora_metrics(month(), START, END, UTC)
    assert metrics.failed_deployment_ids == ("d1", "d2", "d5")
    assert metrics.change_failure_rate == 0.75
    assert metrics.bands["change_failure_rate"] == "low"
    assert metrics.incident_ids == ("I1", "I2", "I3", "I4")
    assert metrics.open_incident_ids == ("I4",)


def test_recovery_runs_to_the_last_incident_resolved() -> None:
    metrics = dora_metrics(month(), START, END, UTC)
    # d1: I2 resolved 3 Mar 12:30, 22.5 h after d1; d2: 10 Mar 10:00, 166 h after; d5 still open.
    assert [(r.deployment_id, r.seconds / 3600) for r in metrics.recoveries] == [
        ("d1", 22.5),
        ("d2", 166),
    ]
    assert metrics.failed_deployment_recovery_seconds_median == 22.5 * 3600
    assert metrics.bands["failed_deployment_recovery_time"] == "high"
    # DORA 2021 time to restore: incidents resolved in the window took 2 h, 20.5 h and 1 h.
    assert metrics.time_to_restore_seconds_median == 2 * 3600


def test_rework_is_a_hotfix_or_a_deployment_during_an_incident() -> None:
    metrics = dora_metrics(month(), START, END, UTC)
    assert metrics.rework_deployment_ids == ("d2", "d4")
    assert metrics.rework_rate == 0.5
    assert metrics.bands["rework_rate"] is None


def test_a_pull_request_linking_an_incident_is_rework() -> None:
    snap = month()
    linked = pr(9, t(5, 9), t(5, 10), linked=("P123ABC",))
    d = deploy("d9", t(5, 11), (9,))
    paged = incident("pagerduty:incident:P123ABC", t(1, 9, 2), t(1, 10, 2))
    snapshot = Snapshot("t", [*snap.items, linked], {}, {}, {}, [d], incidents=[paged])
    assert unplanned_deployments([d], snapshot, [paged]) == {"d9"}
    assert unplanned_deployments([d], snapshot, []) == set()


def test_no_deployments_means_no_values_not_zeros() -> None:  # METRICS 5.13
    empty = dora_metrics(Snapshot("t", [], {}, {}, {}), START, END, UTC)
    assert empty.deployment_count == 0
    assert empty.deployment_frequency_per_week is None
    assert empty.change_failure_rate is None
    assert empty.lead_time_for_changes_seconds_median is None
    assert empty.failed_deployment_recovery_seconds_median is None
    assert empty.rework_rate is None
    assert set(empty.bands.values()) == {None}


def test_a_connected_source_without_deployments_lately() -> None:
    old = Snapshot("t", [], {}, {}, {}, deployments=[deploy("old", t(1, 9, 1))])
    quiet = dora_metrics(old, START, END, UTC)
    assert quiet.deployment_frequency_per_week == 0.0
    assert quiet.deployment_days_median_per_week == 0
    assert quiet.bands["deployment_frequency"] == "low"
    assert quiet.change_failure_rate is None
    fresh = Snapshot("t", [], {}, {}, {}, deployments=[deploy("new", t(1, 9))])
    young = dora_metrics(fresh, START, END, UTC)  # less than a month of data: not ranked
    assert young.deployment_frequency_per_week == 0.0
    assert young.bands["deployment_frequency"] is None
    with pytest.raises(ValueError, match="after start"):
        dora_metrics(old, END, START, UTC)


def test_incidents_go_to_the_last_production_deployment_strictly_before() -> None:
    deployments = [
        deploy("a", t(2, 10)),
        deploy("b", t(3, 10)),
        deploy("b-staging", t(3, 11), environment="staging"),
        deploy("b-failed", t(3, 12), outcome=Outcome.FAILURE),
    ]
    found = attribute_incidents(
        deployments,
        [
            incident("before-all", t(1, 9), None),
            incident("same-instant", t(3, 10), None),
            incident("later", t(3, 13), None),
            incident("given", t(3, 13), None, deployment="a"),
        ],
    )
    assert [i.deployment_id for i in found] == [None, "a", "b", "a"]


def test_bot_and_author_reviews_do_not_count() -> None:  # METRICS 0.9
    assert is_bot("dependabot[bot]") and is_bot("Renovate[BOT]")
    assert is_bot("ci-robot", known_bots={"CI-Robot"}) and not is_bot("carol")
    assert not is_bot(None)
    reviews = [
        review(1, t(1, 9), ReviewState.COMMENTED, "bob"),
        review(1, t(1, 10), ReviewState.COMMENTED, "ci-robot"),
        review(1, t(1, 11), ReviewState.CHANGES_REQUESTED, "carol"),
    ]
    assert first_review_at(reviews, "bob") == t(1, 10)
    assert first_review_at(reviews, "bob", bots={"ci-robot"}) == t(1, 11)
    assert first_review_at(reviews, None) == t(1, 9)  # no author: anyone (METRICS 5.9)


def test_minutes_round_up_and_negative_spans_are_none() -> None:
    assert ceil_minutes(t(1), t(1) + timedelta(seconds=61)) == 2
    assert ceil_minutes(t(1), t(1) + timedelta(minutes=2)) == 2
    assert ceil_minutes(t(1), t(1)) == 0
    assert ceil_minutes(t(2), t(1)) is None


def test_bands_follow_devlakes_2023_thresholds() -> None:
    assert deployment_frequency_band(5, 20) == "elite"
    assert deployment_frequency_band(1, 4) == "high"
    assert deployment_frequency_band(0, 1) == "medium"
    assert deployment_frequency_band(0, 0) == "low"
    assert deployment_frequency_band(None, None) is None
    assert lead_time_band(1439 * 60) == "elite"
    assert lead_time_band(1440 * 60) == "high"
    assert lead_time_band(43200 * 60) == "low"
    assert change_failure_band(0.05) == "elite"
    assert change_failure_band(0.10) == "high"
    assert change_failure_band(0.15) == "medium"
    assert change_failure_band(0.151) == "low"
    assert recovery_band(59 * 60) == "elite"
    assert recovery_band(10079 * 60) == "medium"
    assert recovery_band(None) is None


def test_the_weekly_trend() -> None:
    weeks = dora_weekly(month(), date(2026, 3, 2), date(2026, 3, 30), UTC)
    assert [(w.week_start.day, w.deployments) for w in weeks] == [(2, 2), (9, 1), (16, 0), (23, 1)]
    assert [w.lead_time_seconds_median for w in weeks] == [1620 * 60, 3600, None, 1650 * 60]
    assert [w.change_failure_rate for w in weeks] == [1.0, 0.0, None, 1.0]
    assert weeks[0].deployment_ids == ("d1", "d2")
    partial = dora_weekly(month(), date(2026, 3, 3), date(2026, 3, 4), UTC)
    assert [(w.week_start, w.deployments) for w in partial] == [(date(2026, 3, 2), 1)]
    with pytest.raises(ValueError, match="after start"):
        dora_weekly(month(), date(2026, 3, 4), date(2026, 3, 4), UTC)
