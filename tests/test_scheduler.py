"""The scheduler: fixed job ids from app.yaml and the database, team-time-zone triggers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.scheduler import SYNC_JOB, BotScheduler, DigestJob, LeaderLock, digest_jobs, make_scheduler
from bot.slack.deps import build_deps
from storage.bot_state import Subscription, delete_subscriptions, save_subscription
from tests.conftest import NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, demo_config, demo_runtime


@pytest.fixture
def runtime(tmp_path) -> Iterator:
    with FakeSlack() as fake:
        runtime = demo_runtime(demo_config(fake), tmp_path)
        yield runtime
        runtime.engine.dispose()


@pytest.fixture
def scheduler(runtime) -> Iterator[BotScheduler]:
    bot_scheduler = BotScheduler(build_deps(runtime))
    bot_scheduler.scheduler.start(paused=True)
    yield bot_scheduler
    bot_scheduler.scheduler.shutdown(wait=False)


def subscribe(runtime, channel: str, kind: str, at: str, weekday: str | None = None) -> None:
    save_subscription(
        runtime.engine,
        Subscription("payments", channel, kind, at, weekday, ADMIN, NOW, workspace_id="T1"),
    )


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


def test_rebuild_adds_subscriptions_with_fixed_ids_and_removes_stale_ones(
    runtime, scheduler
) -> None:
    subscribe(runtime, "C0ONE", "daily", "08:15")

    first = scheduler.rebuild()
    again = scheduler.rebuild()
    delete_subscriptions(runtime.engine, "payments", "C0ONE", None)
    subscribe(runtime, "C0TWO", "weekly", "17:00", "thu")
    third = scheduler.rebuild()

    assert first == again
    assert "digest:payments:C0ONE:daily" in first
    assert "digest:payments:C0ONE:daily" not in third
    assert "digest:payments:C0TWO:weekly" in third
    ids = [job.id for job in scheduler.scheduler.get_jobs()]
    assert len(ids) == len(set(ids)), "rebuilding never duplicates a job"
    assert set(ids) == {*third, SYNC_JOB}


def test_jobs_coalesce_and_never_overlap(scheduler) -> None:
    scheduler.rebuild()

    for job in scheduler.scheduler.get_jobs():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert str(make_scheduler().timezone) == "UTC"


def test_a_subscription_made_in_slack_reschedules(runtime, scheduler) -> None:
    scheduler.deps.on_subscriptions_changed = scheduler.tick
    subscribe(runtime, "C0NEW", "daily", "07:45")

    scheduler.deps.on_subscriptions_changed()

    job = scheduler.scheduler.get_job("digest:payments:C0NEW:daily")
    assert job is not None
    assert job.trigger.get_next_fire_time(None, NOW) == datetime(2026, 11, 26, 7, 45, tzinfo=UTC)


def test_one_process_leads_on_postgresql_and_any_on_sqlite(engine) -> None:
    first, second = LeaderLock(engine), LeaderLock(engine)

    leads = [first.acquire(), second.acquire()]
    first.release()
    after_release = second.acquire()
    second.release()

    if engine.dialect.name == "postgresql":
        assert leads == [True, False]
    else:
        assert leads == [True, True]
    assert after_release is True
