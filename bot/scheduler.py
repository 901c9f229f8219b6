"""When things happen: one scheduling process per database, digests swept, every send claimed.

Any number of vsm processes may answer Slack; exactly one *leads*: it runs the sync-and-alert
job and the digest sweep.

Leadership is :class:`bot.leader.LeaderLock`: a PostgreSQL advisory lock held as a lease (a
leader that dies or stops making progress loses it), or a ``flock`` on SQLite. The others stand
by, answer Slack, and try again every ``leader_retry_seconds``.

Digests are swept, not fired: every ``sweep_seconds`` the leader lists the digests of app.yaml
and of ``/vsm subscribe`` and posts each one whose time (a cron in the team's time zone) passed
less than ``due_window`` ago, unless it is already sent for that period. So a digest missed while
no process led (failover, restart), due before the team's first sync, or whose post failed goes
out at a later sweep, and the claim in the database (:mod:`storage.sends`) with the key the
post carries (:mod:`bot.slack.delivering.sends`) makes sure it goes out once. APScheduler 3
only ticks.

:meth:`SchedulerSettings.from_env` reads ``VSM_LEADER_RETRY_SECONDS``, ``VSM_LEASE_SECONDS``,
``VSM_SWEEP_SECONDS``, ``VSM_SYNC_MINUTES``, ``VSM_RETRY_SECONDS`` (a failed post is retried
after this long) and ``VSM_STALE_CLAIM_SECONDS`` (a claim left by a process that died is taken
over after this long); ``VSM_TEST_DIGEST_EVERY_SECONDS`` is for tests and benchmarks only: every
digest then falls due every that many seconds (a new period each time) instead of at its time.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import AppConfig
from bot.leader import LEASE, RENEWALS_PER_LEASE, LeaderLock
from bot.runtime import utc_now
from bot.slack.delivering.digests import DigestKind, digest_period
from bot.slack.delivering.jobs import post_digest, sync_and_alert
from bot.slack.deps import SlackDeps
from bot.webhooks.hints import Hints
from storage.sends import STALE_CLAIM
from storage.slack_settings import Subscription, load_subscriptions

log = logging.getLogger(__name__)
SYNC_JOB = "sync"
SWEEP_JOB = "digests"
LEADER_JOB = "leader"
DIGEST_PREFIX = "digest:"
DIGEST_THREADS = 8
"""Digests built and posted at once by the leader (posts stay paced per channel)."""
CHART_THREADS = 2
"""Digest charts drawn and uploaded at once (into the digests' threads, after the posts)."""
FIRST_SYNC_DELAY = timedelta(seconds=5)
FINAL_OUTCOMES = ("sent", "skipped")


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


@dataclass(frozen=True)
class SchedulerSettings:
    """How often the scheduler looks, and how long it waits before retrying a send."""

    leader_retry_seconds: float = 10.0
    """How often a standby tries to take the lead (and the leader checks it still leads)."""
    lease: timedelta = LEASE
    """A leader that makes no progress for this long loses the lead (PostgreSQL)."""
    sweep_seconds: float = 30.0
    """How often the leader looks for due digests."""
    sync_minutes: float = 15.0
    """How often the leader syncs the sources and runs the alerts."""
    due_window: timedelta = timedelta(hours=3)
    """A digest still goes out this long after its time (after downtime or failed posts)."""
    retry_failed: timedelta = timedelta(minutes=5)
    """A digest whose post failed is tried again after this long."""
    stale_claim: timedelta = STALE_CLAIM
    """A claim left unposted this long by a process that died is taken over."""
    digest_every_seconds: int | None = None
    """Tests and benchmarks only: every digest falls due every this many seconds."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SchedulerSettings:
        """Settings from the environment; ValueError names a bad variable."""
        every = _positive(environ, "VSM_TEST_DIGEST_EVERY_SECONDS", 0) or None
        default = cls()

        def seconds(name: str, value: timedelta) -> timedelta:
            return timedelta(seconds=_positive(environ, name, value.total_seconds()))

        return cls(
            leader_retry_seconds=_positive(
                environ, "VSM_LEADER_RETRY_SECONDS", default.leader_retry_seconds
            ),
            lease=seconds("VSM_LEASE_SECONDS", default.lease),
            sweep_seconds=_positive(environ, "VSM_SWEEP_SECONDS", default.sweep_seconds),
            sync_minutes=_positive(environ, "VSM_SYNC_MINUTES", default.sync_minutes),
            retry_failed=seconds("VSM_RETRY_SECONDS", default.retry_failed),
            stale_claim=seconds("VSM_STALE_CLAIM_SECONDS", default.stale_claim),
            digest_every_seconds=None if every is None else max(1, round(every)),
        )

    @property
    def tick_seconds(self) -> float:
        """How often the lead is checked: often enough to retry and to renew the lease."""
        return min(self.leader_retry_seconds, self.lease.total_seconds() / RENEWALS_PER_LEASE)


@dataclass(frozen=True)
class DigestJob:
    """One scheduled digest: which team, where, which kind, when (in the team's time zone)."""

    team: str
    channel: str
    kind: DigestKind
    at: str
    weekday: str | None
    timezone: str
    workspace_id: str | None = None
    every_seconds: int | None = None
    """Tests only: due every this many seconds instead of at ``at``."""

    @property
    def id(self) -> str:
        """The digest's fixed id."""
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

    def due(self, now: datetime, window: timedelta) -> datetime | None:
        """The time it fell due at, if that was less than ``window`` before ``now``."""
        if self.every_seconds:
            slot = math.floor(now.timestamp() / self.every_seconds) * self.every_seconds
            return datetime.fromtimestamp(slot, UTC)
        fire = self.trigger().get_next_fire_time(None, now - window)
        return fire if fire is not None and fire <= now else None


def digest_jobs(
    config: AppConfig, subscriptions: list[Subscription], every_seconds: int | None = None
) -> list[DigestJob]:
    """Every digest to schedule: app.yaml's per team, then the channels' subscriptions."""
    jobs: dict[str, DigestJob] = {}
    for team in config.teams:
        zone = team.timezone or config.timezone
        if team.channel is None:
            continue
        if team.digest.daily:
            job = DigestJob(
                team.name, team.channel, "daily", team.digest.daily, None, zone, None, every_seconds
            )
            jobs[job.id] = job
        if team.digest.weekly:
            day, at = team.digest.weekly.split()
            job = DigestJob(team.name, team.channel, "weekly", at, day, zone, None, every_seconds)
            jobs[job.id] = job
    teams = {t.name: t for t in config.teams}
    for s in subscriptions:
        team_config = teams.get(s.team)
        if team_config is None or s.kind not in ("daily", "weekly"):
            log.warning("subscription of %s to a %s digest ignored", s.team, s.kind)
            continue
        zone = team_config.timezone or config.timezone
        kind: DigestKind = "daily" if s.kind == "daily" else "weekly"
        job = DigestJob(
            s.team, s.channel_id, kind, s.at, s.weekday, zone, s.workspace_id, every_seconds
        )
        jobs[job.id] = job
    return list(jobs.values())


def make_scheduler() -> BackgroundScheduler:
    """A UTC background scheduler whose jobs coalesce and never overlap."""
    return BackgroundScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )


class BotScheduler:
    """The bot's jobs on an APScheduler scheduler, run only while this process leads."""

    def __init__(
        self,
        deps: SlackDeps,
        scheduler: BaseScheduler | None = None,
        settings: SchedulerSettings | None = None,
        leader: LeaderLock | None = None,
    ) -> None:
        self.deps = deps
        self.scheduler = scheduler or make_scheduler()
        self.settings = settings or SchedulerSettings()
        self.leader = leader or LeaderLock(deps.runtime.engine, self.settings.lease)
        self.leading = False
        self._standby_said = False
        self._tick_lock = threading.Lock()
        self._senders = ThreadPoolExecutor(DIGEST_THREADS, thread_name_prefix="vsm-digest")
        self._charts = ThreadPoolExecutor(CHART_THREADS, thread_name_prefix="vsm-digest-chart")
        self._lock = threading.Lock()
        self._in_flight: set[tuple[str, str]] = set()
        self._quiet_until: dict[tuple[str, str], datetime] = {}
        self.hints = Hints(deps, leads=lambda: self.leading)
        """Webhook hints: synced and alerted while this process leads (:mod:`bot.webhooks`)."""

    def start(self) -> None:
        """Start ticking: take the lead now if it is free, and keep trying if not."""
        # APScheduler logs every run at INFO; our jobs log what matters themselves.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        self.scheduler.start()
        self.hints.start()
        self.scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.settings.tick_seconds),
            id=LEADER_JOB,
            replace_existing=True,
            next_run_time=utc_now(),
            misfire_grace_time=max(1, int(self.settings.tick_seconds)),
        )

    def shutdown(self) -> None:
        """Stop the scheduler and the digest senders, and give up the lead."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._senders.shutdown(wait=False, cancel_futures=True)
        self._charts.shutdown(wait=False, cancel_futures=True)
        self.hints.stop()
        self.leader.release()

    def tick(self) -> bool:
        """Take (or keep) the lead when possible; start or stop the leader's jobs to match."""
        with self._tick_lock:
            try:
                leads = self.leader.acquire()
            except Exception as exc:
                log.warning("could not check the scheduler lock (%s); trying again later", exc)
                leads = False
            if leads and not self.leading:
                self._lead()
            elif not leads and self.leading:
                self._stand_down()
            elif not leads and not self._standby_said:
                self._say_standby()
            return leads

    def _say_standby(self) -> None:
        self._standby_said = True
        if self.leader.lock_file is None:
            log.info("standing by: another process runs the scheduler on this database")
            return
        log.warning(
            "another process (pid %s) already runs the scheduler on this SQLite database (%s). "
            "SQLite is for one vsm process: this one only answers Slack, with no syncs, digests "
            "or alerts, and takes over if the other stops. Run several processes on PostgreSQL.",
            self.leader.holder() or "unknown",
            self.leader.describe(),
        )

    def _lead(self) -> None:
        self.leading = True
        log.info("this process now runs the scheduler (%s)", self.leader.describe())
        self.scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self.settings.sweep_seconds),
            id=SWEEP_JOB,
            replace_existing=True,
            next_run_time=utc_now(),
            misfire_grace_time=max(1, int(self.settings.sweep_seconds)),
        )
        self.scheduler.add_job(
            self.sync_and_alert,
            IntervalTrigger(minutes=self.settings.sync_minutes),
            id=SYNC_JOB,
            replace_existing=True,
            next_run_time=utc_now() + FIRST_SYNC_DELAY,
            misfire_grace_time=max(1, int(self.settings.sync_minutes * 60)),
        )

    def sync_and_alert(self) -> None:
        """The periodic job, with the webhook hints paused meanwhile.

        So a team's alerts are never swept twice at once (see :mod:`bot.webhooks.hints`).
        """
        with self.hints.paused():
            sync_and_alert(self.deps)

    def _stand_down(self) -> None:
        self.leading = False
        for job_id in (SWEEP_JOB, SYNC_JOB):
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
        log.warning("this process no longer runs the scheduler; standing by")

    def sweep(self) -> list[Future[str]]:
        """Start posting every due digest not yet sent (in the digest pool); return the posts."""
        now = self.deps.now()
        try:
            subscriptions = load_subscriptions(self.deps.runtime.engine)
        except Exception:
            log.exception("the digest sweep could not read the database; trying again later")
            return []
        config = self.deps.runtime.config
        jobs = digest_jobs(config, subscriptions, self.settings.digest_every_seconds)
        started = []
        with self._lock:
            self._forget_past(now)
            for job in jobs:
                fire = job.due(now, self.settings.due_window)
                if fire is None:
                    continue
                token = (job.id, self._period(job, fire))
                quiet = self._quiet_until.get(token)
                if token in self._in_flight or (quiet is not None and quiet > now):
                    continue
                self._in_flight.add(token)
                started.append(self._senders.submit(self._send, job, token))
        return started

    def _period(self, job: DigestJob, fire: datetime) -> str:
        if job.every_seconds:
            return fire.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return digest_period(job.kind, self.deps.runtime.config.team(job.team), fire)

    def _forget_past(self, now: datetime) -> None:
        horizon = now - self.settings.due_window
        for token, until in list(self._quiet_until.items()):
            if until < horizon:
                del self._quiet_until[token]

    def _send(self, job: DigestJob, token: tuple[str, str]) -> str:
        outcome: str = "failed"
        try:
            outcome = post_digest(
                self.deps,
                job.team,
                job.channel,
                job.workspace_id,
                job.kind,
                period=token[1],
                retry_after=self.settings.retry_failed,
                stale_after=self.settings.stale_claim,
                later=self._charts.submit,
            )
        finally:
            now = self.deps.now()
            with self._lock:
                self._in_flight.discard(token)
                if outcome != "waiting":  # for the first sync: looked at again next sweep
                    self._quiet_until[token] = now + self._pause(outcome)
        return outcome

    def _pause(self, outcome: str) -> timedelta:
        """How long a digest is left alone after ``outcome``."""
        return self.settings.due_window if outcome in FINAL_OUTCOMES else self.settings.retry_failed
