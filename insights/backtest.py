"""The noise budget: how many alert cards the bot would have sent over past days, measured.

:class:`Replay` runs the detectors and merges their findings by subject
(:func:`insights.subjects.merge_by_subject`) on the snapshot as it was at each run instant
(:func:`insights.as_of.snapshot_as_of`): each hour of the team's working day, from the start of
its working hours, on each of the last ``days`` days up to ``now`` (today's runs until ``now``).
A run costs a few milliseconds on the demo team, and the merged findings of an instant are
computed once and shared by every policy tried (:func:`simulate`, :func:`levers`).

:func:`simulate` then plays the alert pipeline's rules (``bot.slack.delivering.alerts``) with the
values of a :class:`BacktestPolicy`:

- A subject is *alertable* when its merged finding is at least ``min_severity``.
- An alertable subject without an open card gets a **new card**, unless its card was resolved
  less than ``cooldown`` ago: then the old card **reopens** (counted apart, not capped).
- At most ``daily_cap`` new cards a day (the team's local day); the rest of a run's new cards,
  most severe first then by key, are **overflow**: they are tried again at the next run, so an
  item that still holds is posted the next day. A day's overflow counts distinct subjects.
- An open card whose subject is no longer alertable is **resolved**.
- With ``working_days_only``, runs happen on the team's working days only (holidays left out).

The first window day starts warm: what was alertable at the last run before the window
(the previous working day's last hour) counts as already posted, and how many that was is the
*cold start*, the burst a bot switched on for the first time would send. Cards are attributed to
the detector of their chosen reason (``finding.reasons[0]``); team findings to their detector.
A card's mentions are the distinct people it names. What the pipeline does and this model
leaves out: quiet hours inside the working day, runs more often than hourly, grouping (the
pipeline's cap counts a group of cards as one message; here every card counts).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from insights.agreements import Agreements
from insights.as_of import snapshot_as_of
from insights.detectors import run_detectors
from insights.findings import Finding, Severity
from insights.model import Snapshot
from insights.subjects import TEAM_SUBJECT, merge_by_subject
from insights.working_time import WorkCalendar

RUN_EVERY = timedelta(hours=1)
BUDGET = 5
"""New cards per channel per day a team keeps unmuted (issue 14's noise budget)."""
WARM_LOOKBACK_DAYS = 14


@dataclass(frozen=True)
class BacktestPolicy:
    """The alert pipeline's values that decide how many cards are sent."""

    min_severity: Severity = Severity.WARN
    daily_cap: int = 10
    cooldown: timedelta = timedelta(hours=24)
    working_days_only: bool = True


@dataclass(frozen=True)
class Counts:
    """Cards of one day (or of the window), all detectors or one."""

    cards: int = 0
    reopened: int = 0
    mentions: int = 0
    """People named, counted once per card that names them."""
    items: frozenset[str] = frozenset()
    """The item subjects of the cards and reopened cards (team findings name no item)."""


@dataclass(frozen=True)
class DayRow:
    """One day of the window: what the runs of that day would have sent."""

    day: date
    runs: int
    new_cards: int
    reopened: int
    overflow: int
    resolved: int
    mentions: int
    people: int
    """Distinct people named by the day's new cards."""
    by_detector: dict[str, Counts]


@dataclass(frozen=True)
class DetectorTotals:
    """One detector over the window."""

    detector: str
    cards: int
    reopened: int
    mentions: int
    items: int
    """Distinct items its cards named."""
    max_cards_per_day: int
    mean_cards_per_day: float
    mean_mentions_per_day: float


@dataclass(frozen=True)
class Backtest:
    """What ``policy`` would have sent over the window (see the module docstring)."""

    team: str
    policy: BacktestPolicy
    first_day: date
    last_day: date
    runs: int
    cold_start: int
    """Subjects already alertable when the window starts (taken as posted before)."""
    rows: list[DayRow]
    """One per day with runs, oldest first."""
    detectors: list[DetectorTotals]
    """Most cards first."""
    missed: tuple[str, ...]
    """Subjects with a warn or critical finding at some run that never had a card."""

    @property
    def max_new_cards(self) -> int:
        """The most new cards of one day."""
        return max((row.new_cards for row in self.rows), default=0)

    @property
    def mean_new_cards(self) -> float:
        """New cards per day with runs, on average."""
        return _mean([row.new_cards for row in self.rows])

    @property
    def mean_mentions(self) -> float:
        """Mentions per day with runs, on average."""
        return _mean([row.mentions for row in self.rows])

    def within(self, budget: int = BUDGET) -> bool:
        """True when no day got more than ``budget`` new cards."""
        return self.max_new_cards <= budget


class Replay:
    """The merged findings of a team at each run instant of a window, computed once each."""

    def __init__(
        self,
        snapshot: Snapshot,
        agreements: Agreements,
        calendar: WorkCalendar,
        now: datetime,
        days: int = 30,
        *,
        muted: Collection[str] = (),
        teams_by_project: Mapping[str, str] = {},
        others: Mapping[str, Snapshot] = {},
    ) -> None:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.snapshot = snapshot
        self.agreements = agreements
        self.calendar = calendar
        self.muted = frozenset(muted)
        self.teams_by_project = teams_by_project
        """Each configured project key and its team (the waits between teams)."""
        self.others = others
        """The other configured teams' snapshots by name, as they stand now."""
        self.now = now
        self.last_day = now.astimezone(calendar.tz).date()
        self.first_day = self.last_day - timedelta(days=days - 1)
        self._subjects: dict[datetime, list[Finding]] = {}

    def day_runs(self, day: date, working_days_only: bool) -> list[datetime]:
        """The run instants of ``day`` up to ``now``: each hour of its working hours.

        No run on a day off when ``working_days_only``.
        """
        calendar = self.calendar
        if working_days_only and not calendar.works_on(day):
            return []
        start = datetime.combine(day, calendar.start, tzinfo=calendar.tz)
        hours = int(-(-calendar.day_seconds // RUN_EVERY.total_seconds()))
        return [at for n in range(hours) if (at := start + n * RUN_EVERY) <= self.now]

    def warm_run(self, working_days_only: bool) -> datetime | None:
        """The last run before the window (None when no day of the look-back has runs)."""
        for back in range(1, WARM_LOOKBACK_DAYS + 1):
            runs = self.day_runs(self.first_day - timedelta(days=back), working_days_only)
            if runs:
                return runs[-1]
        return None

    def subjects(self, at: datetime) -> list[Finding]:
        """One finding per subject as the detectors would have seen it at ``at``."""
        if at not in self._subjects:
            past = snapshot_as_of(self.snapshot, at)
            found = run_detectors(
                past,
                self.agreements,
                at,
                self.calendar.tz,
                muted=self.muted,
                teams_by_project=self.teams_by_project,
                others=self.others,
            )
            self._subjects[at] = merge_by_subject(found, past, past.team)
        return self._subjects[at]


def detector_of(finding: Finding) -> str:
    """The detector a card is attributed to: its chosen reason's, or its own."""
    return finding.reasons[0].detector if finding.reasons else finding.detector


def _label(finding: Finding) -> str:
    return detector_of(finding) if finding.subject == TEAM_SUBJECT else finding.subject


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass
class _Day:
    """A day's tallies while its runs are played."""

    day: date
    runs: int = 0
    posted: int = 0
    resolved: int = 0
    overflow: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    counts: dict[str, Counts] = field(default_factory=dict)

    def card(self, finding: Finding, reopened: bool) -> None:
        """Tally a new card (or a reopened one: no new post, no mention)."""
        name = detector_of(finding)
        old = self.counts.get(name, Counts())
        item = frozenset() if finding.subject == TEAM_SUBJECT else frozenset([finding.subject])
        if reopened:
            self.counts[name] = replace(old, reopened=old.reopened + 1, items=old.items | item)
            return
        named = set(finding.people)
        self.counts[name] = replace(
            old, cards=old.cards + 1, mentions=old.mentions + len(named), items=old.items | item
        )
        self.posted += 1
        self.people |= named

    def row(self) -> DayRow:
        counts = dict(self.counts)
        return DayRow(
            day=self.day,
            runs=self.runs,
            new_cards=self.posted,
            reopened=sum(c.reopened for c in counts.values()),
            overflow=len(self.overflow),
            resolved=self.resolved,
            mentions=sum(c.mentions for c in counts.values()),
            people=len(self.people),
            by_detector=counts,
        )


class _Channel:
    """The open cards of one channel and when the resolved ones cleared."""

    def __init__(self, policy: BacktestPolicy, warm: Iterable[Finding]) -> None:
        self.policy = policy
        self.open: dict[str, Finding] = {f.dedupe_key: f for f in self.alertable(warm)}
        self.resolved_at: dict[str, datetime] = {}
        self.carded: set[str] = {_label(f) for f in self.open.values()}
        self.seen: set[str] = set()

    def alertable(self, subjects: Iterable[Finding]) -> list[Finding]:
        return [f for f in subjects if f.severity.rank >= self.policy.min_severity.rank]

    def run(self, at: datetime, subjects: Sequence[Finding], day: _Day) -> None:
        """One run of the pipeline at ``at``, tallied in ``day``."""
        day.runs += 1
        self.seen |= {_label(f) for f in subjects if f.severity.rank >= Severity.WARN.rank}
        current = {f.dedupe_key: f for f in self.alertable(subjects)}
        for key in [k for k in self.open if k not in current]:
            del self.open[key]
            self.resolved_at[key] = at
            day.resolved += 1
        fresh = []
        for key, finding in current.items():
            if key in self.open:
                continue
            cleared = self.resolved_at.get(key)
            if cleared is not None and at - cleared < self.policy.cooldown:
                self.post(finding, day, reopened=True)
            else:
                fresh.append(finding)
        fresh.sort(key=lambda f: (-f.severity.rank, f.dedupe_key))
        room = max(0, self.policy.daily_cap - day.posted)
        for finding in fresh[:room]:
            self.post(finding, day, reopened=False)
        day.overflow |= {f.dedupe_key for f in fresh[room:]}

    def post(self, finding: Finding, day: _Day, reopened: bool) -> None:
        self.open[finding.dedupe_key] = finding
        self.resolved_at.pop(finding.dedupe_key, None)
        self.carded.add(_label(finding))
        day.card(finding, reopened)


def simulate(replay: Replay, policy: BacktestPolicy) -> Backtest:
    """Play ``policy`` over the replay's window (see the module docstring)."""
    warm = replay.warm_run(policy.working_days_only)
    channel = _Channel(policy, replay.subjects(warm) if warm is not None else ())
    cold_start = len(channel.open)
    rows = []
    day = replay.first_day
    while day <= replay.last_day:
        runs = replay.day_runs(day, policy.working_days_only)
        tally = _Day(day)
        for at in runs:
            channel.run(at, replay.subjects(at), tally)
        if runs:
            rows.append(tally.row())
        day += timedelta(days=1)
    return Backtest(
        team=replay.snapshot.team,
        policy=policy,
        first_day=replay.first_day,
        last_day=replay.last_day,
        runs=sum(row.runs for row in rows),
        cold_start=cold_start,
        rows=rows,
        detectors=_totals(rows),
        missed=tuple(sorted(channel.seen - channel.carded)),
    )


def _totals(rows: Sequence[DayRow]) -> list[DetectorTotals]:
    names = sorted({name for row in rows for name in row.by_detector})
    totals = []
    for name in names:
        days = [row.by_detector.get(name, Counts()) for row in rows]
        cards = [c.cards for c in days]
        totals.append(
            DetectorTotals(
                detector=name,
                cards=sum(cards),
                reopened=sum(c.reopened for c in days),
                mentions=sum(c.mentions for c in days),
                items=len(frozenset().union(*(c.items for c in days))),
                max_cards_per_day=max(cards, default=0),
                mean_cards_per_day=_mean(cards),
                mean_mentions_per_day=_mean([c.mentions for c in days]),
            )
        )
    return sorted(totals, key=lambda t: (-t.cards, t.detector))


def backtest(
    snapshot: Snapshot,
    agreements: Agreements,
    calendar: WorkCalendar,
    now: datetime,
    policy: BacktestPolicy,
    days: int = 30,
    *,
    muted: Collection[str] = (),
) -> Backtest:
    """What ``policy`` would have sent over the last ``days`` days up to ``now``."""
    return simulate(Replay(snapshot, agreements, calendar, now, days, muted=muted), policy)


@dataclass(frozen=True)
class Lever:
    """One change to a policy and what it would have sent."""

    label: str
    """What changes, as a person says it: ``min severity critical``."""
    result: Backtest


def levers(replay: Replay, policy: BacktestPolicy, budget: int = BUDGET) -> list[Lever]:
    """The single changes that may bring ``policy`` within ``budget``, fewest missed first.

    Tried: raising the minimum severity to critical, and a daily cap of ``budget``. Those within
    the budget come first, the fewest missed subjects first.
    """
    changes = []
    if policy.min_severity is not Severity.CRITICAL:
        changes.append(("min severity critical", replace(policy, min_severity=Severity.CRITICAL)))
    if policy.daily_cap > budget:
        changes.append((f"daily cap {budget}", replace(policy, daily_cap=budget)))
    tried = [Lever(label, simulate(replay, changed)) for label, changed in changes]
    return sorted(
        tried, key=lambda lever: (not lever.result.within(budget), len(lever.result.missed))
    )
