"""The data behind every Slack answer, read through one place with caches.

Commands, digests, alerts and the App Home ask this module, never storage or the metrics
directly. Each team's snapshot is kept across syncs and updated from what they stored
(:mod:`bot.snapshot_cache`); digests are cached per minute and charts per hour (and arguments)
until the team's data changes; concurrent requests for the same thing compute it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from bot.charts import ChartImage, render_chart
from bot.config import TeamConfig
from bot.snapshot_cache import SnapshotCache
from bot.tracked_scopes import team_scopes
from insights.as_of import snapshot_as_of
from insights.detectors import run_detectors
from insights.dora import DoraMetrics, dora_metrics
from insights.findings import Finding
from insights.forecast import ForecastBasis, forecast_basis
from insights.metrics.aging import aging_wip
from insights.metrics.flow_items import item_timelines
from insights.model import ReviewState, Snapshot, Stage
from insights.report import Digest, TeamReport, build_digest, build_report
from insights.subjects import merge_by_subject
from insights.trace import Trace, project_teams, trace_item
from insights.value_stream import ValueStreamMap, resolve_steps, workflow_of
from insights.weekly_trends import WEEKS, Queue, WeeklyTrend, longest_queue
from insights.weekly_trends import weekly_trends as trend_series
from storage.health import SourceHealth, load_health
from storage.slack_settings import active_mutes
from storage.snapshots import load_snapshot

T = TypeVar("T")
CHART_CACHE_SIZE = 64
BOTTLENECK_DETECTOR = "bottleneck"


@dataclass(frozen=True)
class PullRequestLine:
    """An open pull request and where its review stands."""

    key: str
    title: str
    url: str | None
    author: str | None
    age_seconds: float
    review: str
    draft: bool


@dataclass(frozen=True)
class SubjectChanges:
    """How the merged subjects moved between ``since`` and now (one finding per subject each)."""

    since: datetime
    new: list[Finding]
    """Open now, not at ``since``."""
    resolved: list[Finding]
    """Open at ``since`` (as they stood then), not now."""
    still_open: list[Finding]
    """Open at both instants (as they stand now)."""


def subject_changes(
    before: Sequence[Finding], after: Sequence[Finding], since: datetime
) -> SubjectChanges:
    """Compare two lists of merged subjects by their dedupe keys, keeping each list's order."""
    earlier = {f.dedupe_key for f in before}
    later = {f.dedupe_key for f in after}
    return SubjectChanges(
        since=since,
        new=[f for f in after if f.dedupe_key not in earlier],
        resolved=[f for f in before if f.dedupe_key not in later],
        still_open=[f for f in after if f.dedupe_key in earlier],
    )


class _SingleFlight:
    """A small LRU cache where concurrent callers of the same key wait for one computation."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[no-any-return]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]  # type: ignore[no-any-return]
            value = compute()
            with self._guard:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
                self._locks.pop(key, None)
            return value


class ChartRenderer(Protocol):
    """Draws charts elsewhere (``answering.chart_processes``) from the team's data version."""

    def render(
        self,
        team: TeamConfig,
        version: tuple[str, ...],
        kind: str,
        now: datetime,
        options: dict[str, Any],
    ) -> ChartImage: ...


class Answers:
    """Everything the bot tells people, computed from the stored data at a given ``now``.

    Charts are drawn in this thread unless a ``renderer`` (worker processes) is given. ``teams``
    are the configured teams: the detectors and traces of one team see the others' snapshots
    beside its own, for the waits between teams (:mod:`insights.cross_team`).
    """

    def __init__(
        self,
        engine: Engine,
        renderer: ChartRenderer | None = None,
        teams: Sequence[TeamConfig] = (),
    ) -> None:
        self.engine = engine
        self.renderer = renderer
        self.teams = tuple(teams)
        self.teams_by_project = project_teams(self.teams)
        """Each configured project key and its team."""
        self.snapshots = SnapshotCache(engine)
        self._digests = _SingleFlight(size=64)
        self._charts = _SingleFlight(size=CHART_CACHE_SIZE)

    def health(self, team: TeamConfig) -> list[SourceHealth]:
        """Sync health of the team's sources."""
        return load_health(self.engine, team.name)

    def data_version(self, team: TeamConfig) -> tuple[str, ...]:
        """Changes whenever a sync of the team's sources ran."""
        return tuple(
            f"{h.source_key}@{h.last_attempt_at.isoformat() if h.last_attempt_at else '-'}"
            for h in self.health(team)
        )

    def snapshot(self, team: TeamConfig) -> Snapshot:
        """The team's stored data (kept across syncs, updated from what they stored)."""
        stamps = {h.source_key: h.last_attempt_at for h in self.health(team)}
        return self.snapshots.get(
            team.name, stamps, lambda: load_snapshot(self.engine, team.name, list(team.workflow))
        )

    def others(self, team: TeamConfig) -> dict[str, Snapshot]:
        """The other configured teams' snapshots by name (none when no team names projects)."""
        if not self.teams_by_project:
            return {}
        return {other.name: self.snapshot(other) for other in self.teams if other.name != team.name}

    def digest(self, team: TeamConfig, now: datetime, window_days: int = 14) -> Digest:
        """The team's digest numbers as of ``now`` (shared by requests in the same minute)."""
        minute = now.replace(second=0, microsecond=0)
        snapshot = self.snapshot(team)
        scopes = team_scopes(self.engine, team, snapshot)
        key = (team.name, window_days, minute, *self.data_version(team), scopes)
        return self._digests.get(
            key,
            lambda: build_digest(
                snapshot,
                team.agreements,
                now,
                team.zone,
                window_days,
                steps=team.stream_steps(),
                scopes=scopes,
                teams_by_project=self.teams_by_project,
                others=self.others(team),
            ),
        )

    def findings(
        self, team: TeamConfig, now: datetime, shown: Mapping[str, Finding] = {}
    ) -> list[Finding]:
        """What the detectors find now, most severe first, without the team's muted detectors.

        ``shown``: what the team's alert cards show now, by dedupe key (the alert sweep passes
        :func:`storage.alert_messages.shown_findings`; see
        :func:`insights.detectors.run_detectors`).
        """
        return self._detect(team, self.snapshot(team), now, self.muted(team, now), shown)

    def _detect(
        self,
        team: TeamConfig,
        snapshot: Snapshot,
        at: datetime,
        muted: Sequence[str],
        shown: Mapping[str, Finding] = {},
    ) -> list[Finding]:
        """The detectors' findings on ``snapshot`` at ``at``, with the team's stream and peers."""
        return run_detectors(
            snapshot,
            team.agreements,
            at,
            team.zone,
            muted=muted,
            steps=team.stream_steps(),
            scopes=team_scopes(self.engine, team, snapshot),
            teams_by_project=self.teams_by_project,
            others=self.others(team),
            shown=shown,
        )

    def muted(self, team: TeamConfig, now: datetime) -> list[str]:
        """The detectors the team has muted at ``now``."""
        return [m.detector for m in active_mutes(self.engine, team.name, now)]

    def subjects_at(self, team: TeamConfig, at: datetime, now: datetime) -> list[Finding]:
        """The merged subjects as they stood at ``at`` (the data as it was then).

        The detectors muted at ``now`` are left out at both instants, so a mute is not read as
        subjects resolving.
        """
        past = snapshot_as_of(self.snapshot(team), at)
        findings = self._detect(team, past, at, self.muted(team, now))
        return merge_by_subject(findings, past, team.name)

    def changes_since(
        self, team: TeamConfig, since: datetime, now: datetime, current: Sequence[Finding]
    ) -> SubjectChanges:
        """New, resolved and still open subjects between ``since`` and ``current`` (at ``now``).

        ``current`` is what a report at ``now`` already merged, so the detectors run once more
        only for ``since``.
        """
        return subject_changes(self.subjects_at(team, since, now), current, since)

    def subjects(
        self, team: TeamConfig, now: datetime, shown: Mapping[str, Finding] = {}
    ) -> list[Finding]:
        """One finding per subject (:mod:`insights.subjects`), without muted detectors' reasons.

        ``shown`` as for :meth:`findings` (the alert sweep's cards).
        """
        return merge_by_subject(self.findings(team, now, shown), self.snapshot(team), team.name)

    def report(self, team: TeamConfig, now: datetime, window_days: int = 30) -> TeamReport:
        """The team's full report as of ``now`` (shared by requests in the same minute)."""
        minute = now.replace(second=0, microsecond=0)
        snapshot = self.snapshot(team)
        scopes = team_scopes(self.engine, team, snapshot)
        key = ("report", team.name, window_days, minute, *self.data_version(team), scopes)
        muted = self.muted(team, now)
        return self._digests.get(
            (*key, *muted),
            lambda: build_report(
                snapshot,
                team.agreements,
                now,
                team.zone,
                window_days,
                muted=muted,
                steps=team.stream_steps(),
                scopes=scopes,
                teams_by_project=self.teams_by_project,
                others=self.others(team),
            ),
        )

    def value_stream(self, team: TeamConfig, now: datetime, window_days: int) -> ValueStreamMap:
        """The value stream map of the items finished in the window (the cached report's)."""
        stream = self.report(team, now, window_days).value_stream
        assert stream is not None  # every report maps its team's stream
        return stream

    def trace(self, team: TeamConfig, key: str, now: datetime) -> Trace | None:
        """The journey of the team's item ``key`` (or of the item a pull request links).

        None when the team has no such item. The items it is blocked by are named with their
        team and status, and the other teams' items it blocks are listed (:attr:`Trace.blocks`).
        """
        snapshot = self.snapshot(team)
        steps = resolve_steps(snapshot, workflow_of(snapshot), team.stream_steps())
        return trace_item(
            snapshot,
            key,
            steps,
            now,
            teams_by_project=self.teams_by_project,
            others=self.others(team),
        )

    def open_pull_requests(self, team: TeamConfig, now: datetime) -> list[PullRequestLine]:
        """Open pull requests, the longest waiting first."""
        snapshot = self.snapshot(team)
        lines = []
        for pr in snapshot.pull_requests():
            if pr.stage.finished or pr.stage is Stage.BACKLOG or pr.created_at > now:
                continue
            reviews = [r for r in snapshot.reviews.get(pr.id, ()) if r.at <= now]
            lines.append(
                PullRequestLine(
                    key=pr.key,
                    title=pr.title,
                    url=pr.url,
                    author=pr.author,
                    age_seconds=(now - pr.created_at).total_seconds(),
                    review=_review_state(reviews[-1].state if reviews else None),
                    draft=pr.draft,
                )
            )
        return sorted(lines, key=lambda line: -line.age_seconds)

    def weekly_series(
        self, team: TeamConfig, now: datetime, weeks: int = WEEKS
    ) -> list[WeeklyTrend]:
        """Flow and DORA figures of the last ``weeks`` seven-day blocks, each with its verdict.

        The last block is the seven days before the team's today (:mod:`insights.weekly_trends`).
        """
        return trend_series(self.snapshot(team), today(team, now), team.zone, weeks)

    def bottleneck(self, team: TeamConfig, now: datetime) -> Finding | Queue | None:
        """The one place work waits most: the bottleneck finding, or the longest queue now.

        The queue stands in when the ``bottleneck`` detector is muted or found nothing.
        """
        report = self.report(team, now)
        found = next((f for f in report.findings if f.detector == BOTTLENECK_DETECTOR), None)
        return found if found is not None else longest_queue(self.snapshot(team), now)

    def dora(self, team: TeamConfig, now: datetime, window_days: int = 90) -> DoraMetrics:
        """The team's DORA metrics over the window."""
        return dora_metrics(self.snapshot(team), now - timedelta(days=window_days), now, team.zone)

    def forecast_basis(self, team: TeamConfig, now: datetime) -> ForecastBasis:
        """What the team's forecasts simulate from: the same basis as the forecast chart's."""
        return forecast_basis(item_timelines(self.snapshot(team)), now, team.zone)

    def item_ages(self, team: TeamConfig, now: datetime) -> dict[str, int]:
        """Work item age of each item in progress, in days as the aging chart counts them."""
        points = aging_wip(item_timelines(self.snapshot(team)), now, team.zone)
        return {p.key: p.age_days for p in points}

    def chart(
        self,
        team: TeamConfig,
        kind: str,
        now: datetime,
        *,
        window_days: int | None = None,
        forecast_items: int | None = None,
        forecast_date: date | None = None,
        item_key: str | None = None,
    ) -> ChartImage:
        """A rendered chart, reused within the hour while the data is unchanged.

        ``item_key`` names the item of an item chart (a trace).
        """
        hour = now.replace(minute=0, second=0, microsecond=0)
        version = self.data_version(team)
        asked = (window_days, forecast_items, forecast_date, item_key)
        key = (team.name, kind, *asked, hour, *version)
        options: dict[str, Any] = {
            "forecast_items": forecast_items,
            "forecast_date": forecast_date,
            "item_key": item_key,
        }
        if window_days is not None:
            options["window_days"] = window_days
        renderer = self.renderer
        if renderer is None:
            return self._charts.get(
                key, lambda: render_chart(kind, self.snapshot(team), team, now, **options)
            )
        return self._charts.get(key, lambda: renderer.render(team, version, kind, now, options))


def today(team: TeamConfig, now: datetime) -> date:
    """The team's local date at ``now``."""
    return now.astimezone(team.zone).date()


def _review_state(state: ReviewState | None) -> str:
    return {
        None: "no review yet",
        ReviewState.REQUESTED: "review requested",
        ReviewState.READY_FOR_REVIEW: "ready for review",
        ReviewState.COMMENTED: "commented",
        ReviewState.CHANGES_REQUESTED: "changes requested",
        ReviewState.APPROVED: "approved",
    }[state]
