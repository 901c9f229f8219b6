"""A scope's card through the alert sweep: posted once, left alone until it slips (issue 18).

The alert job (:func:`bot.slack.delivering.jobs.alert_team`) passes the findings the team's cards
show back to the detectors, so ``scope_at_risk`` keeps its card's finding while the 85 % date
moves by less than the agreed days: the card is not edited. A slip edits it in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from detector_fixtures import NOW, SnapshotBuilder
from test_detector_scope_at_risk import TARGET, slipping
from test_scopes import in_scope

from bot.config import ScopeConfig, TeamConfig
from bot.runtime import Runtime, open_runtime
from bot.slack.answering.answers import Answers
from bot.slack.delivering.jobs import alert_team
from bot.slack.deps import SlackDeps, build_deps
from insights.detectors import detector_names
from insights.model import Snapshot
from insights.scopes import AT_RISK
from storage.alert_messages import load_alerts, shown_findings
from storage.slack_settings import Mute, save_mute
from tests.fake_slack import Call, FakeSlack
from tests.slack_harness import ADMIN, TEAM_CHANNEL, demo_config

DAY_LATER = NOW + timedelta(days=1)
SCOPE = ScopeConfig(epic="PAY-100", name="Card vaulting", target=TARGET)


class ScopeAnswers(Answers):
    """The bot's answers over a hand-made snapshot of the team (no sync needed)."""

    data: Snapshot = slipping()

    def snapshot(self, team: TeamConfig) -> Snapshot:
        return self.data


class Clock:
    """A fixed clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def runtime(fake: FakeSlack, tmp_path: Path, clock: Clock) -> Iterator[Runtime]:
    """The demo config tracking one epic only, on an empty database at the test's clock."""
    config = demo_config(fake)
    team = config.teams[0].model_copy(update={"scopes": (SCOPE,)})
    config = config.model_copy(update={"teams": (team,)})
    runtime = open_runtime(config, database=f"sqlite:///{tmp_path / 'vsm.db'}", clock=clock)
    runtime.sleep = lambda seconds: None
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def deps(runtime: Runtime) -> Iterator[SlackDeps]:
    """The bot's services, its answers over :class:`ScopeAnswers`, every other detector muted."""
    built = build_deps(runtime)
    built.answers = ScopeAnswers(runtime.engine, teams=runtime.config.teams)
    team = runtime.config.teams[0].name
    for name in detector_names():
        if name != AT_RISK:
            save_mute(runtime.engine, Mute(team, name, None, ADMIN, NOW))
    yield built
    built.workers.shutdown(wait=True)


def grown(snapshot: Snapshot, count: int, at: datetime) -> Snapshot:
    """``snapshot`` with ``count`` more items of the epic, created an hour before ``at``."""
    builder = SnapshotBuilder()
    for n in range(count):
        builder.issue(f"ADDED-{n}", created=at - timedelta(hours=1))
    added = in_scope(builder.build(), "ADDED", parent_key="PAY-100").items
    return replace(snapshot, items=(*snapshot.items, *added))


def top_level_posts(fake: FakeSlack) -> list[Call]:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.params["channel"] == TEAM_CHANNEL and not c.params.get("thread_ts")
    ]


def test_two_sweeps_without_a_slip_post_one_card_and_edit_nothing(
    deps: SlackDeps, fake: FakeSlack, clock: Clock
) -> None:
    team = deps.runtime.config.teams[0]
    alert_team(deps, team)
    (card,) = top_level_posts(fake)
    assert "Card vaulting: 52% chance to be done by" in card.block_text
    fresh_day_later = deps.answers.findings(team, DAY_LATER)
    assert fresh_day_later[0].title not in card.block_text, "the numbers moved a little"

    clock.now = DAY_LATER
    [run] = alert_team(deps, team)

    assert (run.posted, run.updated, run.follow_ups) == (0, 0, 0)
    assert fake.calls_to("chat.update") == []
    assert len(top_level_posts(fake)) == 1
    (record,) = load_alerts(deps.runtime.engine, team.name, TEAM_CHANNEL)
    shown = shown_findings(deps.runtime.engine, team.name)[record.dedupe_key]
    assert shown.title in card.block_text, "the card still shows the first sweep's finding"


def test_a_slip_edits_the_card_in_place(deps: SlackDeps, fake: FakeSlack, clock: Clock) -> None:
    team = deps.runtime.config.teams[0]
    alert_team(deps, team)
    (before,) = load_alerts(deps.runtime.engine, team.name, TEAM_CHANNEL)

    clock.now = DAY_LATER
    assert isinstance(deps.answers, ScopeAnswers)
    deps.answers.data = grown(slipping(), 12, DAY_LATER)
    [run] = alert_team(deps, team)

    assert run.posted == 0 and run.updated == 1
    (update,) = fake.calls_to("chat.update")
    assert update.params["ts"] == before.ts
    assert "Card vaulting: the 85% date slipped " in update.block_text
    assert len(top_level_posts(fake)) == 1, "updated in place, not posted again"
    (record,) = load_alerts(deps.runtime.engine, team.name, TEAM_CHANNEL)
    assert record.id == before.id and record.finding["evidence"]["slipped_days"] > 7


def test_a_scope_with_nothing_left_resolves_its_card_and_it_is_no_longer_shown(
    deps: SlackDeps, clock: Clock
) -> None:
    team = deps.runtime.config.teams[0]
    alert_team(deps, team)
    assert list(shown_findings(deps.runtime.engine, team.name)) == [
        f"{AT_RISK}:{team.name}:epic:PAY-100"
    ]

    clock.now = DAY_LATER
    assert isinstance(deps.answers, ScopeAnswers)
    scope_left = slipping()
    deps.answers.data = replace(
        scope_left, items=tuple(i for i in scope_left.items if i.parent_key != "PAY-100")
    )
    [run] = alert_team(deps, team)

    assert run.resolved == 1
    assert shown_findings(deps.runtime.engine, team.name) == {}
