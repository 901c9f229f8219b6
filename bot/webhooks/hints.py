"""Webhook hints: a verified delivery says "this source changed"; the bot syncs it, then alerts.

:class:`Hints` takes :meth:`~Hints.notify` calls from the receivers (any thread; it returns at
once) and runs, for each source name marked dirty, the same incremental sync the scheduled pull
runs (:func:`bot.sync.sync_source`, for every team whose source has that name), then the team's
alert sweep (:func:`bot.slack.delivering.jobs.alert_team`). Nothing is read from a delivery but
the fact of a change, so order, duplicates and lost deliveries cannot corrupt anything; the
scheduled pull stays as the reconciliation.

Bounded work under a burst:

- Coalescing: a name is dirty or not. Any number of hints while its run is going give one more
  run after it, which sees everything they announced.
- Rate limits: the names dirty in one vendor rate-limit group (:meth:`SourceConfig.rate_limit_group
  <integrations.base.SourceConfig.rate_limit_group>`) are synced by one run, one after the other
  as the scheduled pull does; a group's runs never overlap and start at least ``min_interval``
  apart, so a burst costs at most one partial pull of the group per interval. Different groups
  run in parallel on up to ``workers`` threads.

Only where the periodic sweep posts: alerts run only while ``leads()`` says this process leads
the scheduler. The alert records are not claims (two sweeps of one team at once could both post
a new card), so a process that does not lead leaves its hints to the leader's scheduled pull; the
leader sweeps a team for one hint run at a time, and pauses the hints while its own sync-and-alert
job runs (:meth:`Hints.paused`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from bot.config import TeamConfig
from bot.redact import protect_logs, secret_values
from bot.slack.delivering.jobs import alert_team
from bot.slack.deps import SlackDeps
from bot.sync import source_key, sync_source
from integrations.base import SourceConfig

log = logging.getLogger(__name__)
MIN_INTERVAL = timedelta(seconds=2)
"""Runs against one vendor rate-limit group start at least this far apart."""
HINT_WORKERS = 4
"""Rate-limit groups synced at once on hints."""


class HintSink(Protocol):
    """What a webhook receiver tells: a configured source changed."""

    def notify(self, source_name: str, at: datetime) -> None:
        """Note that the source named ``source_name`` changed (received at ``at``); at once."""


Sources = tuple[tuple[TeamConfig, SourceConfig], ...]
"""Teams' sources: what a hint for one name syncs within one rate-limit group."""


def hint_targets(deps: SlackDeps) -> dict[str, dict[str, Sources]]:
    """Every configured source name: each team's source of that name, by rate-limit group."""
    found: dict[str, dict[str, Sources]] = {}
    for team in deps.runtime.config.teams:
        for config in team.source_configs():
            groups = found.setdefault(config.display_name(), {})
            group = config.rate_limit_group()
            groups[group] = (*groups.get(group, ()), (team, config))
    return found


class Hints:
    """Sync and alert the sources named by webhook hints, coalesced and paced (module docstring)."""

    def __init__(
        self,
        deps: SlackDeps,
        *,
        min_interval: timedelta = MIN_INTERVAL,
        workers: int = HINT_WORKERS,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        self.deps = deps
        self.min_interval = min_interval
        self.workers = max(1, workers)
        self.leads = leads
        self.targets = hint_targets(deps)
        self._changed = threading.Condition()
        self._dirty: dict[str, dict[str, datetime]] = {}
        """By rate-limit group: the names to sync, each with its first hint not yet covered."""
        self._busy: set[str] = set()
        """Groups a worker has taken: running, or waiting out the spacing."""
        self._started: dict[str, datetime] = {}
        """When the last run of each group started."""
        self._in_flight = 0
        self._paused = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._team_locks: dict[str, threading.Lock] = {
            team.name: threading.Lock() for team in deps.runtime.config.teams
        }
        self._told_standby = False

    def notify(self, source_name: str, at: datetime) -> None:
        """Mark ``source_name`` dirty (an unknown name is ignored); never waits for the run."""
        groups = self.targets.get(source_name)
        if groups is None:
            log.info("webhook hint for %r: no source of that name is configured", source_name)
            return
        with self._changed:
            for group in groups:
                self._dirty.setdefault(group, {}).setdefault(source_name, at)
            self._changed.notify()

    def start(self) -> None:
        """Start the worker threads."""
        protect_logs(secret_values(self.deps.runtime.config))
        with self._changed:
            self._stopping = False
            for number in range(self.workers - len(self._threads)):
                thread = threading.Thread(
                    target=self._work, name=f"vsm-hints-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Stop taking work and join the workers (a run under way ends first; none queued do)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Start no run while inside; wait for the runs under way (and their alerts) first.

        Hints received meanwhile stay dirty and run afterwards.
        """
        with self._changed:
            self._paused += 1
            while self._in_flight:
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._paused -= 1
                self._changed.notify_all()

    def idle(self) -> bool:
        """True when nothing is dirty and no run is under way."""
        with self._changed:
            return not self._dirty and not self._in_flight

    # -- the workers ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._changed:
                group = self._take()
                if group is None:
                    return
            try:
                teams = self._sync_when_spaced(group)
                self._alert(teams)
            finally:
                with self._changed:
                    self._in_flight -= 1
                    self._changed.notify_all()

    def _take(self) -> str | None:
        """A group with dirty names that no worker has (waiting for one); None when stopping."""
        while not self._stopping:
            if not self._paused:
                group = next((g for g in self._dirty if g not in self._busy), None)
                if group is not None:
                    self._busy.add(group)
                    self._in_flight += 1
                    return group
            self._changed.wait()
        return None

    def _sync_when_spaced(self, group: str) -> dict[str, TeamConfig]:
        """Once ``group`` may start again, sync its dirty names; the teams that synced."""
        runtime = self.deps.runtime
        try:
            with self._changed:
                last = self._started.get(group)
            if last is not None:
                wait = (last + self.min_interval - runtime.clock()).total_seconds()
                if wait > 0:
                    runtime.sleep(wait)
            with self._changed:
                if self._stopping:
                    return {}
                names = self._dirty.pop(group)
                self._started[group] = runtime.clock()
            return self._sync(group, names)
        finally:
            with self._changed:
                self._busy.discard(group)
                self._changed.notify_all()

    def _sync(self, group: str, names: dict[str, datetime]) -> dict[str, TeamConfig]:
        """Sync each team's source of ``names`` in ``group``, one after the other."""
        if not self.leads():
            if not self._told_standby:
                self._told_standby = True
                log.info(
                    "webhook hints reach a process that does not lead the scheduler: "
                    "the leader's scheduled pull picks their changes up"
                )
            return {}
        teams: dict[str, TeamConfig] = {}
        for name, hinted in names.items():
            log.debug("syncing %s on a webhook hint received at %s", name, hinted.isoformat())
            for team, config in self.targets[name][group]:
                try:
                    result = sync_source(self.deps.runtime, team, config)
                except Exception:
                    log.exception("the hinted sync of %s failed", source_key(team, config))
                    continue
                if result.error is None or result.records:
                    teams.setdefault(team.name, team)
        return teams

    def _alert(self, teams: dict[str, TeamConfig]) -> None:
        """Run the alert sweep of each team (one sweep of a team at a time)."""
        for team in teams.values():
            with self._team_locks[team.name]:
                try:
                    alert_team(self.deps, team)
                except Exception:
                    log.exception("the alerts of %s after a webhook hint failed", team.name)
