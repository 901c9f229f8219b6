"""The scheduler: one leader per database, digests swept when due, posted once per period."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import wait
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.config import load_config
from bot.leader import LeaderLock
from bot.runtime import Runtime, open_runtime
from bot.scheduler import (
    SWEEP_JOB,
    SYNC_JOB,
    BotScheduler,
    DigestJob,
    SchedulerSettings,
    digest_jobs,
    make_scheduler,
)
from bot.slack.deps import build_deps
from bot.sync import sync_teams
from storage.db import make_engine
from storage.sends import load_sends
from storage.slack_settings import Subscription, save_subscription
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, TEAM_CHANNEL, demo_config, demo_runtime

DAILY_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # the demo's daily digest (Europe/London)


class Clock:
    """A clock the test moves by hand."""

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
    return Clock(DAILY_AT + timedelta(minutes=1))


@pytest.fixture
def runtime(fake, clock, tmp_path) -> Iterator[Runtime]:
    runtime = demo_runtime(demo_config(fake), tmp_path, clock=clock)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def scheduler(runtime) -> Iterator[BotScheduler]:
    bot_scheduler = BotScheduler(build_deps(runtime))
    yield bot_scheduler
    bot_scheduler.shutdown()


def subscribe(runtime, channel: str, kind: str, at: str, weekday: str | None = None) -> None:
    save_subscription(
        runtime.engine,
        Subscription("payments", channel, kind, at, weekday, ADMIN, NOW, workspace_id="T1"),
    )


def sweep(scheduler: BotScheduler) -> list[str]:
    """One sweep, waiting for its posts; the outcomes."""
    futures = scheduler.sweep()
    wait(futures, timeout=30)
    return sorted(f.result() for f in futures)


def digest_posts(fake: FakeSlack) -> list[str]:
    return [c.params["channel"] for c in fake.calls_to("chat.postMessage")]


def test_app_yaml_digests_fire_at_the_teams_local_time(runtime) -> None:
    jobs = {job.kind: job for job in digest_jobs(runtime.config, [])}

    assert set(jobs) == {"daily", "weekly"}
    assert jobs["daily"].id == "digest:payments:#payments-flow:daily"
    winter = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 6, 24, 12, 0, tzinfo=UTC)
    # 09:30 Europe/London is 09:30 UTC in winter and 08:30 UTC in summer.
    assert jobs["daily"].trigger().get_next_fire_time(None, winter) == datetime(
        2026, 11, 26, 9, 30, tzinfo=UTC
    )
    assert jobs["daily"].trigger().get_next_fire_time(None, summer) == datetime(
        2026, 6, 25, 8, 30, tzinfo=UTC
    )
    # "mon 09:00": the next Monday after Wednesday 25 November.
    assert jobs["weekly"].trigger().get_next_fire_time(None, winter) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )


def test_weekday_names_are_not_crontab_numbers() -> None:
    friday = DigestJob("t", "C1", "weekly", "16:30", "fri", "America/New_York").trigger()
    fire = friday.get_next_fire_time(None, NOW)
    assert fire is not None and fire.astimezone(friday.timezone).strftime("%a %H:%M") == "Fri 16:30"


def test_a_digest_is_due_from_its_time_for_the_window() -> None:
    job = DigestJob("t", "C1", "daily", "09:30", None, "Europe/London")
    window = timedelta(hours=3)

    assert job.due(DAILY_AT - timedelta(seconds=1), window) is None
    assert job.due(DAILY_AT, window) == DAILY_AT
    assert job.due(DAILY_AT + timedelta(hours=2, minutes=59), window) == DAILY_AT
    assert job.due(DAILY_AT + timedelta(hours=3, minutes=1), window) is None


def test_the_test_override_makes_a_digest_due_every_few_seconds() -> None:
    job = DigestJob("t", "C1", "daily", "09:30", None, "UTC", every_seconds=5)
    now = datetime(2026, 11, 25, 16, 0, 7, 500, tzinfo=UTC)

    assert job.due(now, timedelta(hours=3)) == datetime(2026, 11, 25, 16, 0, 5, tzinfo=UTC)


def test_a_due_digest_is_posted_once_however_often_it_is_swept(scheduler, fake, clock) -> None:
    first = sweep(scheduler)
    clock.now += timedelta(minutes=10)
    again = sweep(scheduler)

    assert first == ["sent"]  # the daily digest; the weekly one is due on Mondays
    assert again == []
    assert digest_posts(fake) == [TEAM_CHANNEL]
    (record,) = load_sends(scheduler.deps.runtime.engine)
    assert (record.key.kind, record.key.period, record.state) == (
        "digest_daily",
        "2026-11-25",
        "sent",
    )


def test_a_restarted_leader_does_not_post_again(runtime, fake) -> None:
    first, second = BotScheduler(build_deps(runtime)), BotScheduler(build_deps(runtime))
    try:
        outcomes = [sweep(first), sweep(second)]
    finally:
        first.shutdown()
        second.shutdown()

    assert outcomes == [["sent"], ["already sent"]]
    assert digest_posts(fake) == [TEAM_CHANNEL]


def test_a_digest_missed_while_no_process_led_goes_out_late_but_not_too_late(
    scheduler, fake, clock
) -> None:
    clock.now = DAILY_AT + timedelta(hours=3, minutes=1)
    assert sweep(scheduler) == []

    clock.now = DAILY_AT + timedelta(days=1, hours=2)
    assert sweep(scheduler) == ["sent"]
    (record,) = load_sends(scheduler.deps.runtime.engine)
    assert record.key.period == "2026-11-26"


def test_a_digest_due_before_the_first_sync_goes_out_after_it(fake, clock, tmp_path) -> None:
    runtime = open_runtime(demo_config(fake), database=f"sqlite:///{tmp_path / 'new.db'}")
    runtime.clock = clock
    scheduler = BotScheduler(build_deps(runtime))
    try:
        before = sweep(scheduler)
        assert load_sends(runtime.engine) == [], "nothing claimed, nothing skipped"
        sync_teams(runtime)
        clock.now += timedelta(seconds=30)
        after = sweep(scheduler)
    finally:
        scheduler.shutdown()
        runtime.engine.dispose()

    assert (before, after) == (["waiting"], ["sent"])
    assert digest_posts(fake) == [TEAM_CHANNEL]


def test_subscriptions_made_in_any_process_are_swept(runtime, scheduler, fake, clock) -> None:
    subscribe(runtime, "C0NEWCHAN", "daily", "09:31")
    fake.add_channel("C0NEWCHAN", "new")
    clock.now = DAILY_AT + timedelta(minutes=1, seconds=30)

    assert sweep(scheduler) == ["sent", "sent"]
    assert sorted(digest_posts(fake)) == ["C0NEWCHAN", TEAM_CHANNEL]


def test_jobs_run_only_while_leading_and_never_overlap(scheduler) -> None:
    scheduler.scheduler.start(paused=True)
    assert scheduler.tick() is True

    jobs = {job.id: job for job in scheduler.scheduler.get_jobs()}
    assert {SWEEP_JOB, SYNC_JOB} <= set(jobs)
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert str(make_scheduler().timezone) == "UTC"


def test_settings_come_from_the_environment_and_bad_values_are_named() -> None:
    settings = SchedulerSettings.from_env(
        {
            "VSM_LEADER_RETRY_SECONDS": "0.5",
            "VSM_TEST_DIGEST_EVERY_SECONDS": "3",
            "VSM_LEASE_SECONDS": "6",
            "VSM_RETRY_SECONDS": "2",
            "VSM_STALE_CLAIM_SECONDS": "90",
        }
    )

    assert (settings.leader_retry_seconds, settings.digest_every_seconds) == (0.5, 3)
    assert (settings.lease, settings.retry_failed, settings.stale_claim) == (
        timedelta(seconds=6),
        timedelta(seconds=2),
        timedelta(seconds=90),
    )
    assert SchedulerSettings.from_env({}) == SchedulerSettings()
    default = SchedulerSettings()
    assert default.tick_seconds == 10, "the lease is renewed three times per lease"
    assert default.lease.total_seconds() + default.leader_retry_seconds <= 60, "within a minute"
    for bad in ("soon", "0", "-1", "nan"):
        with pytest.raises(ValueError, match=f"VSM_SWEEP_SECONDS must be a positive.*{bad}"):
            SchedulerSettings.from_env({"VSM_SWEEP_SECONDS": bad})


def test_one_process_leads_per_database(engine) -> None:
    first, second = LeaderLock(engine), LeaderLock(engine)

    leads = [first.acquire(), second.acquire(), first.acquire()]
    first.release()
    after_release = second.acquire()
    second.release()

    assert leads == [True, False, True]
    assert after_release is True


def test_a_standby_takes_over_and_its_jobs_follow_the_lead(engine, fake) -> None:
    config = demo_config(fake)
    deps = [build_deps(Runtime(config=config, engine=engine)) for _ in range(2)]
    leader, standby = BotScheduler(deps[0]), BotScheduler(deps[1])
    for bot_scheduler in (leader, standby):
        bot_scheduler.scheduler.start(paused=True)
    try:
        assert [leader.tick(), standby.tick()] == [True, False]
        assert standby.scheduler.get_job(SWEEP_JOB) is None
        leader.leader.release()  # what the death of the leader's process does

        assert standby.tick() is True
        assert standby.scheduler.get_job(SWEEP_JOB) is not None
        assert leader.tick() is False
        assert leader.scheduler.get_job(SWEEP_JOB) is None, "the old leader stood down"
    finally:
        leader.shutdown()
        standby.shutdown()


@pytest.mark.postgres
def test_a_leader_whose_connection_dies_loses_the_lead_to_a_standby(engine, caplog) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock lives on a PostgreSQL connection")
    leader, standby = LeaderLock(engine), LeaderLock(engine)
    assert leader.acquire() is True
    assert leader._connection is not None
    backend = leader._connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

    deadline = time.monotonic() + 10
    while not standby.acquire():  # the backend exits, and its lock with it, a moment later
        assert time.monotonic() < deadline, "the dead connection's lock was never released"
        time.sleep(0.01)
    with caplog.at_level(logging.WARNING):
        assert leader.acquire() is False
    assert "lost the scheduler lock" in caplog.text
    standby.release()


@pytest.mark.postgres
def test_a_frozen_leader_loses_the_lead_once_its_lease_runs_out(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the lease is the advisory lock's PostgreSQL session")
    leader = LeaderLock(engine, lease=timedelta(seconds=1))
    standby = LeaderLock(engine, lease=timedelta(seconds=1))
    assert leader.acquire() is True

    deadline = time.monotonic() + 10
    while not standby.acquire():  # the leader makes no progress: it never calls acquire again
        assert time.monotonic() < deadline, "a frozen leader kept the lead"
        time.sleep(0.05)
    assert leader.acquire() is False, "once it resumes it knows it no longer leads"
    standby.release()


def test_a_second_process_on_sqlite_says_it_only_answers_slack(tmp_path, caplog) -> None:
    config = load_config(DEMO_CONFIG, env={})
    database = tmp_path / "vsm.db"
    engine = make_engine(f"sqlite:///{database}")
    first = LeaderLock(engine)
    assert first.acquire() is True
    second = BotScheduler(build_deps(Runtime(config=config, engine=engine)))
    second.scheduler.start(paused=True)
    try:
        with caplog.at_level(logging.WARNING):
            assert second.tick() is False
    finally:
        second.shutdown()
        first.release()
        engine.dispose()

    message = caplog.text
    assert "SQLite is for one vsm process" in message
    assert f"{database}.scheduler.lock" in message
    assert "only answers Slack" in message and "PostgreSQL" in message
