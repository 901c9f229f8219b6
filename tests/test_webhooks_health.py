"""Webhook health: ``/vsm status`` lines, the reconciliation's missed count, the stop told once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from bot.config import AppConfig
from bot.slack.answering.render import render_status
from bot.slack.delivering.jobs import WEBHOOK_SILENCE, sync_and_alert, watch_webhooks
from bot.sync import SyncResult
from bot.webhooks.setup import team_webhooks
from storage.health import SourceHealth
from storage.pages import WriteCounts
from storage.webhooks import WebhookHealth, load_webhook_health, record_received
from tests.conftest import NOW
from tests.slack_harness import ADMIN, BotHarness, demo_config, demo_runtime

KEY = "payments/demo"


class Clock:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def with_webhooks(config: AppConfig) -> AppConfig:
    """``config`` with a webhook secret on the demo team's source."""
    team = config.teams[0]
    source = team.sources[0].model_copy(update={"webhook_secret": SecretStr("hook-secret")})
    team = team.model_copy(update={"sources": (source,)})
    return config.model_copy(update={"teams": (team,)})


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def bot(fake, tmp_path, clock: Clock) -> Iterator[BotHarness]:
    harness = BotHarness(fake, demo_runtime(with_webhooks(demo_config(fake)), tmp_path, clock))
    yield harness
    harness.close()


def pulled(new: int = 0, updated: int = 0, error: str | None = None) -> list[SyncResult]:
    """What a scheduled pull of the demo source stored."""
    counts = WriteCounts(new=new, updated=updated, unchanged=40)
    return [SyncResult("payments", "demo", KEY, counts=counts, error=error)]


def told(fake) -> list[str]:
    """The admin DMs about stopped webhooks."""
    return [
        call.params["text"]
        for call in fake.calls_to("chat.postMessage")
        if call.params["channel"].startswith("D") and "webhooks" in call.params["text"]
    ]


def source_health(key: str) -> SourceHealth:
    team, _, source = key.partition("/")
    return SourceHealth(key, team, source, NOW, NOW, None, None, 0, 12, 0)


def section_of(blocks: list[dict], key: str) -> str:
    """The text of the one section naming ``key``."""
    (text,) = [b["text"]["text"] for b in blocks if key in b.get("text", {}).get("text", "")]
    return text


def test_status_shows_the_last_webhook_and_what_the_reconciliation_found_missed() -> None:
    health = [source_health(k) for k in ("payments/github", "payments/jira", "payments/csv")]
    webhooks = {
        "payments/github": WebhookHealth(
            "payments/github", NOW - timedelta(minutes=3), 2, NOW - timedelta(minutes=1), None
        ),
        "payments/jira": None,
    }

    blocks = render_status("payments", health, NOW, timedelta(hours=6), webhooks).as_kwargs()
    plain = render_status("payments", health, NOW, timedelta(hours=6)).as_kwargs()

    github = section_of(blocks["blocks"], "payments/github")
    assert (
        "Webhooks: last one 3 min ago · the reconciliation found 2 changes the webhooks missed"
        in github
    )
    assert "Webhooks: no webhooks yet" in section_of(blocks["blocks"], "payments/jira")
    assert "Webhooks" not in section_of(blocks["blocks"], "payments/csv")
    assert "Webhooks" not in json.dumps(plain)


def test_status_says_when_the_reconciliation_found_nothing_missed() -> None:
    webhooks = {KEY: WebhookHealth(KEY, NOW - timedelta(hours=3), 0, NOW, None)}

    message = render_status("payments", [source_health(KEY)], NOW, timedelta(hours=6), webhooks)

    assert "last one 3 h ago · the reconciliation found nothing the webhooks missed" in section_of(
        message.as_kwargs()["blocks"], KEY
    )


def test_only_sources_with_a_secret_have_webhooks(fake) -> None:
    config = demo_config(fake)
    seen = {KEY: WebhookHealth(KEY, NOW, 0, None, None)}

    assert team_webhooks(config.teams[0], seen) == {}
    assert team_webhooks(with_webhooks(config).teams[0], {}) == {KEY: None}
    assert team_webhooks(with_webhooks(config).teams[0], seen) == seen


def test_the_pull_counts_what_the_webhooks_missed_once_they_have_come(bot, clock) -> None:
    engine = bot.runtime.engine
    deps = bot.bot.deps

    watch_webhooks(deps, pulled(new=3))  # no webhook yet: nothing is counted as missed
    assert load_webhook_health(engine) == {}

    record_received(engine, [KEY], NOW)
    clock.advance(minutes=15)
    watch_webhooks(deps, pulled(new=1, updated=2))
    clock.advance(minutes=15)
    watch_webhooks(deps, pulled(new=5, error="payments/demo: boom"))  # a failed pull says nothing

    health = load_webhook_health(engine)[KEY]
    assert (health.missed_records, health.reconciled_at) == (3, NOW + timedelta(minutes=15))


def test_the_admins_hear_once_when_webhooks_stop_and_again_after_they_came_back(
    bot, fake, clock
) -> None:
    engine = bot.runtime.engine
    deps = bot.bot.deps
    record_received(engine, [KEY], clock())

    clock.advance(hours=1)
    watch_webhooks(deps, pulled(new=2))  # missed while webhooks still come: no stop yet
    assert told(fake) == []
    clock.advance(hours=24)
    watch_webhooks(deps, pulled(updated=1))  # silent 25 h while the pull finds changes
    clock.advance(hours=1)
    watch_webhooks(deps, pulled(new=3))
    (first,) = told(fake)
    assert "The webhooks of *payments/demo* stopped" in first
    assert "the scheduled pull found 2 changes they missed" in first
    assert "normal interval" in first
    assert {c.params["users"] for c in fake.calls_to("conversations.open")} == {ADMIN}
    clock.advance(hours=24)
    watch_webhooks(deps, pulled(new=1))  # the next day, still stopped: not told again
    assert len(told(fake)) == 1

    clock.advance(hours=1)
    record_received(engine, [KEY], clock())  # they came back
    clock.advance(hours=1)
    watch_webhooks(deps, pulled())
    clock.advance(hours=25)
    watch_webhooks(deps, pulled(new=4))  # silent again, but the last pull had found nothing
    assert len(told(fake)) == 1
    clock.advance(minutes=15)
    watch_webhooks(deps, pulled(new=4))
    assert len(told(fake)) == 2
    assert load_webhook_health(engine)[KEY].fallback_told_at == clock()


def test_a_quiet_source_and_a_pull_ahead_of_its_webhook_are_not_a_stop(bot, fake, clock) -> None:
    engine = bot.runtime.engine
    deps = bot.bot.deps
    record_received(engine, [KEY], clock())

    for _ in range(3):  # two quiet days: nothing changed, nothing missed
        clock.advance(hours=16)
        watch_webhooks(deps, pulled())
    watch_webhooks(deps, pulled(new=1))  # a change the pull stored before its webhook came
    clock.advance(minutes=1)
    record_received(engine, [KEY], clock())
    clock.advance(minutes=14)
    watch_webhooks(deps, pulled())

    assert clock() - NOW > 2 * WEBHOOK_SILENCE
    assert told(fake) == []


def test_the_periodic_sync_is_the_reconciliation(bot, clock) -> None:
    engine = bot.runtime.engine
    record_received(engine, [KEY], clock() - timedelta(hours=1))

    sync_and_alert(bot.bot.deps)

    health = load_webhook_health(engine)[KEY]
    assert health.reconciled_at == NOW and health.last_received_at == NOW - timedelta(hours=1)
