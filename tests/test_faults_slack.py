"""Slack faults during scheduled digests: waited out, reported, retried; never lost, never a crash.

The fake Slack answers 429 storms, ``channel_not_found``, ``not_in_channel``, a revoked token,
or is not there at all. A digest that could not be posted is marked failed, never sent, and goes
out at a later sweep; setup problems reach the admins once a day by DM, and when Slack itself is
unreachable they are logged. A real ``vsm serve`` process keeps running through all of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import wait
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.scheduler import BotScheduler
from bot.slack.deps import build_deps
from bot.sync import sync_teams
from storage.sends import load_sends
from tests.bot_processes import LEADS, BotProcess, digest_rows, wait_until, write_app_yaml
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import ADMIN, TEAM_CHANNEL, demo_config, demo_runtime

DUE = datetime(2026, 11, 25, 9, 31, tzinfo=UTC)  # a minute after the demo's daily digest
ADMIN_DM = "D" + ADMIN.removeprefix("U")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def clock() -> Clock:
    return Clock(DUE)


def make_scheduler(fake: FakeSlack, clock: Clock, folder, **slack) -> BotScheduler:
    runtime = demo_runtime(demo_config(fake, **slack), folder, clock=clock)
    return BotScheduler(build_deps(runtime))


@pytest.fixture
def scheduler(fake, clock, tmp_path) -> Iterator[BotScheduler]:
    bot_scheduler = make_scheduler(fake, clock, tmp_path)
    yield bot_scheduler
    bot_scheduler.shutdown()
    bot_scheduler.deps.runtime.engine.dispose()


def sweep(scheduler: BotScheduler) -> list[str]:
    futures = scheduler.sweep()
    wait(futures, timeout=60)
    return sorted(f.result() for f in futures)


def digests(fake: FakeSlack) -> list:
    """Digest posts Slack accepted."""
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.reply.get("ok") and c.params["channel"] == TEAM_CHANNEL
    ]


def admin_dms(fake: FakeSlack) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.reply.get("ok") and c.params["channel"] == ADMIN_DM
    ]


def state(scheduler: BotScheduler) -> list[str]:
    return [s.state for s in load_sends(scheduler.deps.runtime.engine, ["digest_daily"])]


def waits(scheduler: BotScheduler) -> list[float]:
    recorded = scheduler.deps.runtime.extra["waits"]
    assert isinstance(recorded, list)
    return recorded


def test_a_429_storm_is_waited_out_and_the_digest_posted_once(scheduler, fake) -> None:
    for _ in range(3):
        fake.fail_next("chat.postMessage", status=429, retry_after=2)

    assert sweep(scheduler) == ["sent"]

    statuses = [c.status for c in fake.calls_to("chat.postMessage")]
    assert statuses == [429, 429, 429, 200]
    assert len(digests(fake)) == 1
    assert len([w for w in waits(scheduler) if 2 <= w < 3]) >= 3, "Retry-After honoured"
    assert state(scheduler) == ["sent"]


@pytest.mark.parametrize("accept", [True, False], ids=["taken", "not-taken"])
def test_a_dropped_connection_while_posting_a_digest_never_doubles_nor_loses_it(
    scheduler, fake, accept
) -> None:
    fake.interrupt_next("chat.postMessage", accept=accept, answer=False)

    assert sweep(scheduler) == ["sent"]

    (message,) = fake.posted(TEAM_CHANNEL)
    (record,) = load_sends(scheduler.deps.runtime.engine, ["digest_daily"])
    assert (record.state, record.ts) == ("sent", message["ts"])
    assert message["metadata"]["event_payload"]["period"] == record.key.period
    assert len(fake.calls_to("conversations.history")) == 1, "looked before posting again"


def test_a_storm_longer_than_the_retries_is_retried_by_a_later_sweep(
    scheduler, fake, clock, caplog
) -> None:
    for _ in range(4):  # the first try and its three retries
        fake.fail_next("chat.postMessage", status=429, retry_after=1)

    with caplog.at_level(logging.WARNING):
        first = sweep(scheduler)
    clock.now += timedelta(minutes=1)
    too_soon = sweep(scheduler)
    clock.now += timedelta(minutes=5)
    later = sweep(scheduler)

    assert (first, too_soon, later) == (["failed"], [], ["sent"])
    assert "ratelimited" in caplog.text and "was not posted" in caplog.text
    assert admin_dms(fake) == [], "a passing problem is logged, not reported"
    assert len(digests(fake)) == 1
    assert state(scheduler) == ["sent"]


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("channel_not_found", "I cannot see channel"),
        ("not_in_channel", "invite me with `/invite @vsm-bot`"),
        ("is_archived", "is archived"),
    ],
)
def test_setup_problems_are_told_to_the_admins_once_and_retried(
    scheduler, fake, clock, error, advice
) -> None:
    fake.fail_next("chat.postMessage", status=200, retry_after=None, error=error)
    first = sweep(scheduler)
    assert state(scheduler) == ["failed"], "failed, not sent: it is retried"
    fake.fail_next("chat.postMessage", status=200, retry_after=None, error=error)
    clock.now += timedelta(minutes=6)
    second = sweep(scheduler)
    clock.now += timedelta(minutes=6)
    third = sweep(scheduler)

    assert (first, second, third) == (["failed"], ["failed"], ["sent"])
    (dm,) = admin_dms(fake)
    assert error in dm.params["text"] and advice in dm.params["text"]
    assert "payments" in dm.params["text"] and "try again" in dm.params["text"]
    assert len(digests(fake)) == 1


def test_a_revoked_token_is_logged_when_the_admins_cannot_be_told(
    scheduler, fake, clock, caplog
) -> None:
    fake.tokens.clear()

    with caplog.at_level(logging.ERROR):
        revoked = sweep(scheduler)
    fake.tokens.add(BOT_TOKEN)
    clock.now += timedelta(minutes=6)
    restored = sweep(scheduler)

    assert (revoked, restored) == (["failed"], ["sent"])
    assert "invalid_auth" in caplog.text
    assert "could not tell admin" in caplog.text and "SLACK_BOT_TOKEN" in caplog.text
    assert len(digests(fake)) == 1


def test_slack_down_is_logged_and_nothing_is_marked_sent(fake, clock, tmp_path, caplog) -> None:
    with FakeSlack() as gone:
        dead_url = gone.api_url  # a port nothing listens on once the fake stops
    scheduler = make_scheduler(fake, clock, tmp_path, api_url=dead_url)
    try:
        with caplog.at_level(logging.WARNING):
            outcome = sweep(scheduler)
    finally:
        scheduler.shutdown()

    assert outcome == ["failed"]
    assert "could not be reached" in caplog.text
    assert "could not tell admin" not in caplog.text, "nobody to tell while Slack is down"
    assert all(s != "sent" for s in state(scheduler))


@pytest.mark.slow
def test_a_running_bot_survives_a_revoked_token_and_recovers(fake, tmp_path) -> None:
    config = write_app_yaml(tmp_path / "app.yaml", fake, f"sqlite:///{tmp_path / 'vsm.db'}")
    runtime: Runtime = open_runtime(load_config(config))
    sync_teams(runtime)
    env = {"VSM_SWEEP_SECONDS": "0.5", "VSM_TEST_DIGEST_EVERY_SECONDS": "1"}
    bot = BotProcess(config, tmp_path / "vsm.log", env)
    try:
        bot.wait_for(LEADS)
        fake.tokens.clear()
        bot.wait_for("Slack refused the bot token (invalid_auth)")
        assert requests.get(f"{bot.url}/health", timeout=5).status_code == 200
        assert bot.process.poll() is None, "still running"
        fake.tokens.add(BOT_TOKEN)
        sent_before = len([r for r in digest_rows(runtime.engine) if r.state == "sent"])
        wait_until(
            lambda: (
                len([r for r in digest_rows(runtime.engine) if r.state == "sent"]) > sent_before
            ),
            60,
            "a digest after the token came back",
        )
    finally:
        assert bot.stop() == 0
        runtime.engine.dispose()


def test_serve_refuses_a_token_slack_rejects_but_starts_when_slack_is_down(fake, tmp_path) -> None:
    config = write_app_yaml(tmp_path / "app.yaml", fake, f"sqlite:///{tmp_path / 'vsm.db'}")
    fake.tokens.clear()
    with pytest.raises(AssertionError, match="exited") as refused:
        BotProcess(config, tmp_path / "refused.log")
    assert "Slack refused the bot token (invalid_auth)" in str(refused.value)

    with FakeSlack() as gone:
        dead_url = gone.api_url
    text = config.read_text().replace(fake.api_url, dead_url)
    (tmp_path / "down.yaml").write_text(text)
    bot = BotProcess(tmp_path / "down.yaml", tmp_path / "down.log")
    try:
        bot.wait_for("Slack is unreachable at start")
        assert requests.get(f"{bot.url}/health", timeout=5).status_code == 200
    finally:
        bot.stop()
