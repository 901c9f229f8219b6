"""Forecast a scope: when will an epic or a label's items be done, and what if (issue 18).

A scope is one of:

- an **epic**: the issues whose ``parent_key`` is the epic's key (company- and team-managed Jira
  projects alike: the source reads both as the parent); its target defaults to the epic's due date;
- a **label**: the issues carrying it;
- a **release**: a Jira fix version or a GitHub/GitLab milestone, by name: the issues planned for
  it, and the issues a pull request planned for it links (the code hosts' issues are not work
  items here); its target defaults to the release's date at its vendor (:class:`Plan`);
- a saved Jira **filter**, by id: the issues its JQL matched when the source last ran it.

Its items are flow issues (no epics, no sub-tasks) that exist at ``now`` and are not cancelled.

The forecast (:func:`scope_forecast`) simulates the scope's burn-up
(:mod:`insights.scope_forecast`): each future day finishes items drawn from the team's daily
throughput (the same basis as every other forecast, :func:`insights.forecast.forecast_basis`) and
adds items drawn from the scope's own daily history of added items, over the same number of days
(``BASIS_DAYS``). An item is added on the day it was created (the sources record no history of a
parent or a label, so an item moved into the scope later counts from its creation). The scope's
first day is its baseline, not growth: the items created on it are the scope as first planned.

Dates are "done on or before" at 50/85/95 % (None beyond ``HORIZON_DAYS``); the probability is
the share of trials done by the target date. :class:`Levers` change the simulation (freeze the
scope, cut items, scale throughput) with the same random days, so a what-if moves only by its
levers (:func:`what_if`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property

import numpy as np

from insights.as_of import snapshot_as_of
from insights.detectors.support.wording import dedupe_key
from insights.findings import Finding
from insights.forecast import BASIS_DAYS, HORIZON_DAYS, TRIALS, forecast_basis
from insights.item_timeline import local_date, timeline_of
from insights.metrics.flow_items import flow_items, item_timelines
from insights.model import Snapshot, Stage, WorkItem
from insights.scope_forecast import NEVER, Trials, rank, simulate
from insights.scope_refs import SCOPE_KINDS as SCOPE_KINDS
from insights.scope_refs import ScopeKind as ScopeKind
from insights.scope_refs import ScopeRef as ScopeRef

CONFIDENCES = (50, 85, 95)
"""Confidence levels of a scope's dates, in percent."""
AT_RISK = "scope_at_risk"
"""The detector that watches scopes with a target (:mod:`insights.detectors.scope_at_risk`)."""
MIN_HISTORY_DAYS = 10
"""A scope younger than this many days has too little history of growth to trust."""


@dataclass(frozen=True)
class Levers:
    """What-if changes to a scope's forecast."""

    freeze_scope: bool = False
    """No more items are added to the scope."""
    cut: int = 0
    """Items taken out of the scope (of those not done)."""
    throughput_factor: float = 1.0
    """The team's daily throughput times this (1.2: 20 % more)."""

    def __post_init__(self) -> None:
        if self.cut < 0:
            raise ValueError(f"cut must not be negative, got {self.cut}")
        if self.throughput_factor <= 0:
            raise ValueError(
                f"throughput_factor must be greater than 0, got {self.throughput_factor}"
            )

    def describe(self) -> str:
        """The levers in words ("cut 3 items, throughput +20 %"), "" for none."""
        parts = []
        if self.cut:
            parts.append(f"cut {self.cut} item{'s' if self.cut != 1 else ''}")
        if self.freeze_scope:
            parts.append("freeze the scope")
        if self.throughput_factor != 1.0:
            parts.append(f"throughput {self.throughput_factor - 1:+.0%}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ScopeForecast:
    """When a scope will be done, with and without the levers it was simulated with."""

    ref: ScopeRef
    done: int
    remaining: int
    total: int
    growth_per_week: float
    """Items added to the scope per week over its history (the growth the simulation samples)."""
    dates: dict[int, date | None]
    """Confidence (50/85/95) -> done on or before this date; None when not within the horizon."""
    probability: float | None
    """Share of trials done by ``ref.target``; None without a target or a forecast."""
    basis_days: int
    too_short: str | None
    """Why the forecast cannot be trusted (a young scope, no throughput); None when it can."""
    history: list[tuple[date, int, int]] = field(default_factory=list)
    """The daily burn-up: (day, items done by its end, items in the scope by its end)."""
    levers: Levers = Levers()
    beyond_horizon: float = 0.0
    """Share of trials not done within ``HORIZON_DAYS`` (1.0: the scope never finishes)."""
    today: date | None = None
    """The as-of day in the team's time zone (the forecast's first simulated day is tomorrow)."""

    @property
    def never(self) -> bool:
        """No trial finished within the horizon (scope growth keeps pace with throughput)."""
        return self.remaining > 0 and self.beyond_horizon >= 1.0


@dataclass(frozen=True)
class ScopeModel:
    """What a scope's simulations start from at one instant."""

    ref: ScopeRef
    today: date
    throughput: list[int]
    """The team's daily throughput basis, oldest first."""
    history: list[tuple[date, int, int]]
    growth: list[int]
    """Items added to the scope on each day of its history after its first, before today
    (at most ``BASIS_DAYS``), oldest first."""
    open_keys: tuple[str, ...] = ()
    """The keys of the scope's items not done, in the snapshot's order."""

    @property
    def done(self) -> int:
        """Items done now."""
        return self.history[-1][1] if self.history else 0

    @property
    def total(self) -> int:
        """Items in the scope now."""
        return self.history[-1][2] if self.history else 0

    @property
    def remaining(self) -> int:
        """Items not done."""
        return self.total - self.done

    @cached_property
    def too_short(self) -> str | None:
        """Why the history cannot be trusted, or None."""
        if not self.history:
            return f"the {self.ref.name} has no items"
        if sum(self.throughput) == 0:
            return f"the team finished no item in the last {len(self.throughput)} days"
        age = (self.today - self.history[0][0]).days
        if age < MIN_HISTORY_DAYS:
            return (
                f"the {self.ref.name} has {age} day{'s' if age != 1 else ''} of history; "
                f"its growth is guessed from fewer than {MIN_HISTORY_DAYS} days"
            )
        return None

    @property
    def growth_per_week(self) -> float:
        """Items added per week over the scope's sampled history."""
        return 7 * sum(self.growth) / len(self.growth) if self.growth else 0.0

    def added_since(self, day: date) -> int:
        """Items added to the scope after ``day`` (up to now)."""
        before = [total for d, _, total in self.history if d <= day]
        return self.total - (before[-1] if before else 0)

    def target_days(self, target: date) -> int:
        """Simulated days from tomorrow to ``target`` inclusive (0 when it is today or past)."""
        return max(0, (target - self.today).days)

    def run(self, levers: Levers, days: int, seed: int, trials: int) -> Trials | None:
        """The simulated trials with ``levers`` over ``days``; None without any throughput."""
        if sum(self.throughput) == 0:
            return None
        growth = [] if levers.freeze_scope else self.growth
        return simulate(
            np.asarray(self.throughput, dtype=np.int64),
            np.asarray(growth, dtype=np.int64),
            max(0, self.remaining - levers.cut),
            days=days,
            trials=trials,
            seed=seed,
            factor=levers.throughput_factor,
        )

    def forecast(
        self, levers: Levers = Levers(), seed: int = 0, trials: int = TRIALS
    ) -> ScopeForecast:
        """The forecast of the scope with ``levers``."""
        remaining = max(0, self.remaining - levers.cut)
        result = ScopeForecast(
            ref=self.ref,
            done=self.done,
            remaining=remaining,
            total=self.total - (self.remaining - remaining),
            growth_per_week=0.0 if levers.freeze_scope else self.growth_per_week,
            dates=dict.fromkeys(CONFIDENCES),
            probability=None,
            basis_days=len(self.throughput),
            too_short=self.too_short,
            history=list(self.history),
            levers=levers,
            today=self.today,
        )
        run = self.run(levers, HORIZON_DAYS, seed, trials)
        if run is None:
            return result
        ordered = np.sort(run.days)
        dates: dict[int, date | None] = {}
        for c in CONFIDENCES:
            needed = int(ordered[rank(c / 100, trials)])
            dates[c] = None if needed == NEVER else self.today + timedelta(days=needed)
        target = self.ref.target
        probability = None
        if target is not None:
            probability = float(np.mean(run.days <= self.target_days(target)))
        unfinished = float(np.mean(run.days == NEVER))
        return replace(result, dates=dates, probability=probability, beyond_horizon=unfinished)

    def probability(self, levers: Levers, seed: int = 0, trials: int = TRIALS) -> float | None:
        """The chance to be done by the target with ``levers`` (simulating only up to it)."""
        if self.ref.target is None:
            return None
        run = self.run(levers, self.target_days(self.ref.target), seed, trials)
        return None if run is None else float(np.mean(run.days != NEVER))

    def cut_needed(
        self, confidence: float, levers: Levers = Levers(), seed: int = 0, trials: int = TRIALS
    ) -> int | None:
        """The fewest items to cut (with ``levers``) for ``confidence`` of making the target.

        None without a target or throughput, or when even cutting every item left is not enough
        (the scope grows faster than the team finishes). The same random days as
        :meth:`probability`: with this cut it reaches ``confidence``, with one fewer it does not.
        """
        if self.ref.target is None:
            return None
        run = self.run(levers, self.target_days(self.ref.target), seed, trials)
        if run is None:
            return None
        descending = np.sort(run.best_progress)[::-1]
        needed = max(0, self.remaining - levers.cut - int(descending[rank(confidence, trials)]))
        return needed if needed <= self.remaining - levers.cut else None


@dataclass(frozen=True)
class ScopeStatus:
    """A tracked scope's forecast, and its ``scope_at_risk`` finding when it is at risk."""

    forecast: ScopeForecast
    at_risk: Finding | None = None


def at_risk_key(team: str, ref: ScopeRef) -> str:
    """The dedupe key of the ``scope_at_risk`` finding on ``ref``: one card per scope."""
    return dedupe_key(AT_RISK, team, ref.kind, ref.key)


def scope_statuses(
    snapshot: Snapshot,
    refs: Sequence[ScopeRef],
    now: datetime,
    tz: tzinfo,
    findings: Sequence[Finding] = (),
    seed: int = 0,
) -> list[ScopeStatus]:
    """Each scope of ``refs`` forecast, with its ``scope_at_risk`` finding among ``findings``."""
    at_risk = {f.dedupe_key: f for f in findings if f.detector == AT_RISK}
    return [
        ScopeStatus(
            scope_forecast(snapshot, ref, now, tz, seed=seed),
            at_risk.get(at_risk_key(snapshot.team, ref)),
        )
        for ref in refs
    ]


def scope_items(snapshot: Snapshot, ref: ScopeRef) -> list[WorkItem]:
    """The scope's flow issues (no epics or sub-tasks), cancelled ones left out, in order."""
    holds = ref.members(snapshot)
    return [
        item
        for item in flow_items(snapshot)
        if holds(item) and item.stage is not Stage.CANCELLED and item.removed_at is None
    ]


def scope_model(snapshot: Snapshot, ref: ScopeRef, now: datetime, tz: tzinfo) -> ScopeModel:
    """What the forecasts of ``ref`` simulate from, with ``snapshot`` as it was at ``now``."""
    past = snapshot_as_of(snapshot, now)
    today = local_date(now, tz)
    items = scope_items(past, ref)
    added = Counter(local_date(item.created_at, tz) for item in items)
    transitions, flags = past.transitions, past.flags
    ends = [
        timeline_of(item, transitions.get(item.id, ()), flags.get(item.id, ())).finished_at
        for item in items
    ]
    finished = Counter(local_date(end, tz) for end in ends if end is not None)
    open_keys = tuple(item.key for item, end in zip(items, ends, strict=True) if end is None)
    history: list[tuple[date, int, int]] = []
    if items:
        first = min(added)
        done = total = 0
        for offset in range((today - first).days + 1):
            day = first + timedelta(days=offset)
            done, total = done + finished[day], total + added[day]
            history.append((day, done, total))
        sampled = max(first + timedelta(days=1), today - timedelta(days=BASIS_DAYS))
        growth = [added[sampled + timedelta(days=d)] for d in range((today - sampled).days)]
    else:
        growth = []
    basis = forecast_basis(item_timelines(past), now, tz)
    return ScopeModel(ref, today, basis.samples, history, growth, open_keys)


def scope_forecast(
    snapshot: Snapshot,
    ref: ScopeRef,
    now: datetime,
    tz: tzinfo,
    *,
    levers: Levers = Levers(),
    seed: int = 0,
    trials: int = TRIALS,
) -> ScopeForecast:
    """When ``ref`` will be done as of ``now`` (module docstring), with ``levers``."""
    return scope_model(snapshot, ref, now, tz).forecast(levers, seed, trials)


def what_if(
    snapshot: Snapshot, ref: ScopeRef, now: datetime, tz: tzinfo, levers: Levers, seed: int = 0
) -> tuple[ScopeForecast, ScopeForecast]:
    """The forecast of ``ref`` as it is and with ``levers``, on the same random days."""
    model = scope_model(snapshot, ref, now, tz)
    return model.forecast(Levers(), seed), model.forecast(levers, seed)
