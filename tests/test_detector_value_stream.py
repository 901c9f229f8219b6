"""The ``value_stream`` detector: where the time goes, its change, and what a team can do."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from bot.slack.answering.render_digest import render_weekly
from insights.agreements import Agreements
from insights.detectors import run_detectors
from insights.detectors import value_stream as detector
from insights.detectors.support.context import DetectionContext
from insights.findings import Finding, Severity
from insights.forecast import ForecastBasis
from insights.model import Deployment, Outcome, ReviewState, Snapshot
from insights.stream_events import COMMITTED, DONE, status_event
from insights.value_stream import StreamStep
from tests.detector_fixtures import NOW, SnapshotBuilder, ago, detect

H = timedelta(hours=1)


class Team:
    """Items through the whole stream: board, one linked pull request, a production deploy."""

    def __init__(self) -> None:
        self.builder = SnapshotBuilder()
        self.deployments: list[Deployment] = []

    def delivered(
        self, key: str, merged_days_ago: float, release_hours: float, review_hours: float = 16
    ) -> None:
        merged = ago(days=merged_days_ago)
        opened = merged - (review_hours + 4) * H
        deployed = merged + release_hours * H
        self.builder.issue(
            key,
            ("Selected", opened - 10 * H),
            ("In Progress", opened - 6 * H),
            ("Code Review", opened),
            ("Done", deployed + H),
        )
        number = len(self.deployments) + 1
        pr = self.builder.pr(
            number, opened, (merged - 4 * H, ReviewState.APPROVED, "ben"), merged=merged
        )
        linked = replace(pr, linked_keys=(key,))
        self.builder.items[self.builder.items.index(pr)] = linked
        self.deployments.append(
            Deployment(
                id=f"test:deploy:{number}",
                team="payments",
                source="test",
                environment="production",
                outcome=Outcome.SUCCESS,
                finished_at=deployed,
                shipped_item_ids=(linked.id,),
                production=True,
            )
        )

    def snapshot(self) -> Snapshot:
        return replace(self.builder.build(), deployments=tuple(self.deployments))


def releases(team: Team, prefix: str, days_ago: float, release_hours: float, count: int = 5):
    for n in range(count):
        team.delivered(f"{prefix}-{n}", days_ago + 2 * n, release_hours)


def test_a_growing_release_wait_is_a_warning_with_a_release_action() -> None:
    team = Team()
    releases(team, "NOW", 4, release_hours=72)
    releases(team, "BEFORE", 35, release_hours=12)

    (finding,) = detect(detector, team.snapshot())

    assert finding.severity is Severity.WARN and finding.subject == "team"
    assert finding.title == (
        "Merged code waits 3 days for production: 70% of lead time after the backlog, up from 28%"
    )
    assert "Deploy smaller batches more often" in finding.action
    assert finding.evidence["step"] == "Release" and finding.evidence["part"] == "wait"
    assert finding.evidence["previous_share_of_lead_time"] == 0.279
    assert finding.evidence["median_days"] == 3.0 and finding.evidence["items"] == 5
    assert set(finding.item_keys) == {f"NOW-{n}" for n in range(5)}
    assert finding.dedupe_key == "value_stream:payments:release:wait"


def test_a_steady_hotspot_is_information() -> None:
    team = Team()
    releases(team, "NOW", 4, release_hours=72)
    releases(team, "BEFORE", 35, release_hours=72)

    (finding,) = detect(detector, team.snapshot())

    assert finding.severity is Severity.INFO
    assert finding.title.endswith("70% of lead time after the backlog, as in the 30 days before")


def test_too_few_items_say_nothing() -> None:
    team = Team()
    releases(team, "NOW", 4, release_hours=72, count=4)

    assert detect(detector, team.snapshot()) == []
    assert detect(detector, SnapshotBuilder().build()) == []


def test_a_review_wait_asks_for_a_review_rotation() -> None:
    team = Team()
    for n in range(5):
        team.delivered(f"R-{n}", 3 + 2 * n, release_hours=2, review_hours=60)

    (finding,) = detect(detector, team.snapshot())

    assert finding.title.startswith("Pull requests wait 2.5 days for a first review: ")
    assert "review rotation" in finding.action and finding.severity is Severity.INFO


def test_run_detectors_measures_the_configured_stream() -> None:
    team = Team()
    releases(team, "NOW", 4, release_hours=72)
    steps = (
        StreamStep("Queue", COMMITTED, status_event("In Progress")),
        StreamStep("Work", status_event("In Progress"), DONE),
    )
    found = run_detectors(team.snapshot(), Agreements(), NOW, ago().tzinfo, steps=steps)

    (finding,) = [f for f in found if f.detector == detector.NAME]
    assert finding.evidence["step"] == "Work"
    context = DetectionContext(team.snapshot(), Agreements(), NOW, ago().tzinfo, steps=steps)
    assert context.steps == steps


def test_the_weekly_digest_says_where_the_time_goes_escaped() -> None:
    finding = Finding(
        detector=detector.NAME,
        severity=Severity.WARN,
        subject="team",
        title="<!channel> waits 3 days for production: 41% of lead time, up from 28%",
        action="Deploy smaller batches more often <https://evil.example|here>.",
        dedupe_key="value_stream:payments:release:wait",
    )
    basis = ForecastBasis([1, 0, 2] * 20, NOW.date())

    message = render_weekly("payments", NOW.date(), NOW, [], None, None, basis, finding)
    assert message is not None
    text = json.dumps(message.as_kwargs())
    assert "*Where the time goes*" in text and "41% of lead time, up from 28%" in text
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert render_weekly("payments", NOW.date(), NOW, [], None, None, basis) is None
