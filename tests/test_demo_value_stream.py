"""The demo's value stream: every step of the map has items; the release train is the hotspot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import TeamConfig, load_config
from insights.metrics.flow_items import item_timelines
from insights.model import Deployment, Incident, ItemHistory, PipelineRun, Snapshot
from insights.value_stream import ValueStreamMap, resolve_steps, value_stream_map, workflow_of
from integrations import demo

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "bot" / "demo.yaml"


@pytest.fixture(scope="module")
def team() -> TeamConfig:
    return load_config(DEMO_CONFIG, env={}).teams[0]


def demo_map(team: TeamConfig, anchor: datetime, days_before: int = 0) -> ValueStreamMap:
    """The default map of the demo generated at ``anchor``, over 30 days ending ``days_before``."""
    records = demo.generate(demo.Config(), anchor, team.name, team.make_workflow())
    histories = [r for r in records if isinstance(r, ItemHistory)]
    snapshot = Snapshot(
        team=team.name,
        items=[h.item for h in histories],
        transitions={h.item.id: h.transitions for h in histories},
        flags={h.item.id: h.flags for h in histories},
        reviews={h.item.id: h.reviews for h in histories},
        deployments=[r for r in records if isinstance(r, Deployment)],
        pipeline_runs=[r for r in records if isinstance(r, PipelineRun)],
        incidents=[r for r in records if isinstance(r, Incident)],
        statuses=tuple(team.workflow),
    )
    steps = resolve_steps(snapshot, workflow_of(snapshot))
    lines = item_timelines(snapshot)
    end = anchor - timedelta(days=days_before)
    return value_stream_map(snapshot, lines, steps, end - timedelta(days=30), end)


def test_every_step_of_the_default_stream_counts_most_items(team: TeamConfig) -> None:
    stream = demo_map(team, NOW)
    names = [s.step.name for s in stream.steps]
    assert names[-2:] == ["Release", "Verification"]  # linked deployments give the delivery steps
    assert stream.items >= 15 and 0 < stream.no_pr < stream.items / 4
    for step in stream.steps:
        assert step.items >= 0.6 * stream.items, step.step.name


@pytest.mark.parametrize("day", range(7))
def test_the_release_train_is_where_the_time_goes_whatever_the_weekday(
    team: TeamConfig, day: int
) -> None:
    hotspot = demo_map(team, NOW + timedelta(days=day, hours=3 * day)).hotspot
    assert hotspot is not None
    assert (hotspot.step, hotspot.part) == ("Release", "wait")
    assert hotspot.share > 0.3 and hotspot.previous_share is not None
    assert hotspot.previous_share < 0.15  # daily deploys before the train


def test_merged_code_waits_days_for_production_now_hours_before(team: TeamConfig) -> None:
    now, before = demo_map(team, NOW), demo_map(team, NOW, days_before=30)
    release_now = next(s for s in now.steps if s.step.name == "Release")
    release_before = next(s for s in before.steps if s.step.name == "Release")
    assert release_now.lead_seconds_p50 is not None and release_before.lead_seconds_p50 is not None
    assert release_now.lead_seconds_p50 > 3 * 86400
    assert release_before.lead_seconds_p50 < 86400
