"""When things happen: APScheduler 3 in the bot process, rebuilt from app.yaml and the database.

One ``BackgroundScheduler`` in UTC; each digest gets a cron trigger in its team's time zone and a
fixed job id (``digest:<team>:<channel>:<kind>``), so rebuilding at start or after ``/vsm
subscribe`` replaces jobs instead of adding copies. Jobs coalesce missed runs and never overlap
(``max_instances=1``); a digest missed by less than an hour still goes out. The sync job pulls
the sources and runs the alerts every few minutes.

On PostgreSQL several bot processes may run: only the one holding a ``pg_try_advisory_lock``
schedules anything, the others retry every minute. Every send is claimed in the database anyway,
so even a second scheduler would not post twice. APScheduler stays behind this module.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text

from bot.config import AppConfig
from bot.slack.deps import SlackDeps
from bot.slack.jobs import post_digest, sync_and_alert
from storage.bot_state import Subscription, load_subscriptions

log = logging.getLogger(__name__)
SYNC_JOB = "sync"
LEADER_JOB = "leader"
DIGEST_PREFIX = "digest:"
SYNC_MINUTES = 15
LEADER_SECONDS = 60
DIGEST_GRACE_SECONDS = 3600
ADVISORY_LOCK_KEY = 0x76736D626F74  # "vsmbot"


@dataclass(frozen=True)
class DigestJob:
    """One scheduled digest: which team, where, which kind, when (in the team's time zone)."""

    team: str
    channel: str
    kind: str
    at: str
    weekday: str | None
    timezone: str
    workspace_id: str | None = None

    @property
    def id(self) -> str:
        """The fixed job id."""
        return f"{DIGEST_PREFIX}{self.team}:{self.channel}:{self.kind}"

    def trigger(self) -> CronTrigger:
        """A cron trigger at ``at`` (on ``weekday`` for weekly digests) in the team's zone."""
        hour, minute = (int(part) for part in self.at.split(":"))
        return CronTrigger(
            day_of_week=self.weekday or "*",
            hour=hour,
            minute=minute,
            timezone=ZoneInfo(self.timezone),
        )


def digest_jobs(config: AppConfig, subscriptions: list[Subscription]) -> list[DigestJob]:
    """Every digest to schedule: app.yaml's per team, then the channels' subscriptions."""
    jobs: dict[str, DigestJob] = {}
    for team in config.teams:
        zone = team.timezone or config.timezone
        if team.channel is None:
            continue
        if team.digest.daily:
            job = DigestJob(team.name, team.channel, "daily", team.digest.daily, None, zone)
            jobs[job.id] = job
        if team.digest.weekly:
            day, at = team.digest.weekly.split()
            job = DigestJob(team.name, team.channel, "weekly", at, day, zone)
            jobs[job.id] = job
    teams = {t.name: t for t in config.teams}
    for s in subscriptions:
        team_config = teams.get(s.team)
        if team_config is None:
            log.warning("subscription for unknown team %s ignored", s.team)
            continue
        zone = team_config.timezone or config.timezone
        job = DigestJob(s.team, s.channel_id, s.kind, s.at, s.weekday, zone, s.workspace_id)
        jobs[job.id] = job
    return list(jobs.values())


class LeaderLock:
    """Who runs the scheduler: always this process on SQLite, the lock holder on PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        """True when this process leads (it keeps leading until it exits)."""
        if self.engine.dialect.name != "postgresql" or self._connection is not None:
            return True
        # Autocommit: the lock belongs to the session, and no transaction stays open for hours.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        query = text("SELECT pg_try_advisory_lock(:key)")
        if connection.execute(query, {"key": ADVISORY_LOCK_KEY}).scalar():
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        """Give up the lead (a process that dies loses it with its connection)."""
        if self._connection is not None:
            unlock = text("SELECT pg_advisory_unlock(:key)")
            self._connection.execute(unlock, {"key": ADVISORY_LOCK_KEY})
            self._connection.close()
            self._connection = None


def make_scheduler() -> BackgroundScheduler:
    """A UTC background scheduler whose jobs coalesce and never overlap."""
    return BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": DIGEST_GRACE_SECONDS,
        },
    )


class BotScheduler:
    """The bot's jobs on an APScheduler scheduler."""

    def __init__(
        self,
        deps: SlackDeps,
        scheduler: BaseScheduler | None = None,
        sync_minutes: int = SYNC_MINUTES,
    ) -> None:
        self.deps = deps
        self.scheduler = scheduler or make_scheduler()
        self.sync_minutes = sync_minutes
        self.leader = LeaderLock(deps.runtime.engine)

    def start(self) -> None:
        """Start, claim the lead if possible, and keep trying every minute if not."""
        self.scheduler.start()
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=LEADER_SECONDS),
            id=LEADER_JOB,
            replace_existing=True,
            next_run_time=self.deps.now(),
        )
        self.deps.on_subscriptions_changed = self.tick

    def shutdown(self) -> None:
        """Stop the scheduler and give up the lead."""
        self.scheduler.shutdown(wait=False)
        self.leader.release()

    def tick(self) -> None:
        """Rebuild the jobs when leading (picks up subscriptions made in other processes)."""
        if self.leader.acquire():
            self.rebuild()

    def rebuild(self) -> list[str]:
        """Make the scheduled jobs match app.yaml and the database; return the digest job ids."""
        config = self.deps.runtime.config
        wanted = digest_jobs(config, load_subscriptions(self.deps.runtime.engine))
        for job in wanted:
            work = functools.partial(
                post_digest, self.deps, job.team, job.channel, job.workspace_id, job.kind
            )
            self.scheduler.add_job(work, job.trigger(), id=job.id, replace_existing=True)
        wanted_ids = {job.id for job in wanted}
        for existing in self.scheduler.get_jobs():
            if existing.id.startswith(DIGEST_PREFIX) and existing.id not in wanted_ids:
                existing.remove()
        if self.scheduler.get_job(SYNC_JOB) is None:
            self.scheduler.add_job(
                sync_and_alert,
                IntervalTrigger(minutes=self.sync_minutes),
                args=[self.deps],
                id=SYNC_JOB,
                next_run_time=self.deps.now() + timedelta(seconds=5),
                misfire_grace_time=self.sync_minutes * 60,
            )
        return sorted(wanted_ids)
