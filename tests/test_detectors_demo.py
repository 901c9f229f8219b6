"""Every detector fires on the problem the demo source plants, and a healthy team stays calm."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from detector_fixtures import healthy_team

from bot.config import TeamConfig, load_config
from insights.agreements import Agreements
from insights.detectors import run_detectors
from insights.findings import Finding, Severity
from insights.model import ItemHistory, ReviewState, Snapshot, Stage
from integrations import demo
from integrations.base import SourceContext

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def team() -> TeamConfig:
    return load_config(ROOT / "app.yaml", env={}).team("payments")


@pytest.fixture(scope="module")
def histories(team: TeamConfig) -> list[ItemHistory]:
    ctx = SourceContext(team.name, team.make_workflow(), now=lambda: NOW, sleep=lambda s: None)
    pages = demo.build(demo.Config(seed=7), ctx).pull(None)
    return [history for page in pages for history in page.histories]


@pytest.fixture(scope="module")
def findings(team: TeamConfig, histories: list[ItemHistory]) -> list[Finding]:
    snapshot = Snapshot(
        team=team.name,
        items=[h.item for h in histories],
        transitions={h.item.id: h.transitions for h in histories},
        flags={h.item.id: h.flags for h in histories},
        reviews={h.item.id: h.reviews for h in histories},
        statuses=tuple(team.workflow),
    )
    return run_detectors(snapshot, team.agreements, NOW, team.zone)


def of(findings: Iterable[Finding], detector: str) -> dict[str, Finding]:
    return {f.subject: f for f in findings if f.detector == detector}


def in_progress(histories: list[ItemHistory]) -> list[ItemHistory]:
    return [h for h in histories if h.item.kind.value == "issue" and h.item.stage.in_progress]


def test_flagged_and_blocked_items_are_reported(
    histories: list[ItemHistory], findings: list[Finding]
) -> None:
    flagged = {h.item.key for h in in_progress(histories) if h.flags and h.flags[-1].flagged}
    in_blocked = {h.item.key for h in histories if h.item.stage is Stage.BLOCKED}
    assert len(flagged) == 2 and len(in_blocked) == 1
    blocked = of(findings, "blocked_item")
    assert set(blocked) == flagged | in_blocked
    assert all(f.severity.rank >= Severity.WARN.rank for f in blocked.values())


def test_the_oldest_items_in_progress_are_aging(
    histories: list[ItemHistory], findings: list[Finding]
) -> None:
    aging = of(findings, "aging_item")
    started_long_ago = {
        h.item.key
        for h in in_progress(histories)
        if (NOW - min(t.at for t in h.transitions)).days >= 25
    }
    assert len(started_long_ago) >= 3
    assert all(aging[key].severity is Severity.CRITICAL for key in started_long_ago)
    assert any("for that stage" in f.title for f in aging.values())


def test_pull_requests_waiting_for_review_are_reported(
    histories: list[ItemHistory], findings: list[Finding]
) -> None:
    only_requested = {
        h.item.key
        for h in histories
        if h.item.kind.value == "pr"
        and not h.item.stage.finished
        and h.reviews
        and all(r.state is ReviewState.REQUESTED for r in h.reviews)
    }
    assert len(only_requested) == 3
    assert set(of(findings, "pr_waiting_review")) == only_requested


def test_the_stale_review_is_running_long(
    histories: list[ItemHistory], findings: list[Finding]
) -> None:
    changes_requested = {
        h.item.key
        for h in histories
        if h.item.kind.value == "pr"
        and not h.item.stage.finished
        and any(r.state is ReviewState.CHANGES_REQUESTED for r in h.reviews)
    }
    assert changes_requested and changes_requested <= set(of(findings, "pr_review_long"))


def test_wip_is_over_the_team_limit_and_in_progress_over_its_own(
    team: TeamConfig, histories: list[ItemHistory], findings: list[Finding]
) -> None:
    wip = {f.dedupe_key: f for f in findings if f.detector == "wip_over_limit"}
    team_wip = wip["wip_over_limit:payments:team"]
    assert team_wip.evidence["wip_items"] == len(in_progress(histories))
    assert team_wip.evidence["wip_items"] > (team.agreements.wip_limit or 0)
    status = wip["wip_over_limit:payments:status:in progress"]
    in_progress_status = [h for h in in_progress(histories) if h.item.status == "In Progress"]
    assert status.evidence["wip_items"] == len(in_progress_status) > 5


def test_the_queue_before_qa_is_growing_and_is_the_bottleneck(findings: list[Finding]) -> None:
    keys = {f.dedupe_key for f in findings}
    assert "queue_growing:payments:ready for qa" in keys
    assert "bottleneck:payments:ready for qa" in keys


def test_untouched_aging_work_is_stale(
    histories: list[ItemHistory], findings: list[Finding]
) -> None:
    stale = of(findings, "stale_item")
    untouched = {
        h.item.key
        for h in in_progress(histories)
        if h.item.stage is not Stage.BLOCKED
        and not h.flags
        and (NOW - h.item.updated_at).total_seconds() > 5 * 86400
    }
    assert untouched and set(stale) == untouched


def test_the_demo_data_is_clean(findings: list[Finding]) -> None:
    assert of(findings, "data_quality") == {}


def test_a_healthy_team_with_the_same_agreements_has_only_heads_ups(team: TeamConfig) -> None:
    agreements: Agreements = team.agreements
    findings = run_detectors(healthy_team().build(), agreements, NOW, team.zone)
    assert [f for f in findings if f.severity is not Severity.INFO] == []
