"""Monte Carlo forecasts from daily throughput (METRICS.md section 3.9), seeded and vectorised.

The basis is the team's daily throughput over the last ``k`` calendar days (``BASIS_DAYS``, 60),
zero days included and today excluded; the first simulated day is tomorrow. Every forecast a person
reads (the Slack answer, the chart, the digest, the report) starts from :func:`forecast_basis`, so
one question gets one answer. Each simulated day draws one basis day uniformly with replacement.
Calendar days are simulated (non-working days are not removed, consistently with cycle time).

- "When will N items be done": per trial, days are drawn until the running total reaches N;
  the date at confidence c is the first day by which a share c of the trials finished
  (``start + days - 1``; "85% chance done on or before").
- "How many by DATE": per trial, the total over the days from ``start`` to ``target``
  inclusive; the count at confidence c is the largest x that a share c of the trials reached
  ("85% chance of x or more").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

from insights.item_timeline import ItemTimeline, local_date
from insights.metrics.throughput import throughput

BASIS_DAYS = 60
"""Days of past daily throughput a forecast samples (METRICS.md 3.9; JAM's throughput window)."""
CONFIDENCES = (50, 70, 85, 95)
"""Confidence levels reported, in percent."""
TRIALS = 10_000
HORIZON_DAYS = 3650
"""Longest simulated future: a forecast beyond it is "not within horizon" (None)."""
_BLOCK = 512
"""Days simulated at once per trial (bounds memory: trials x block draws)."""

IntArray = npt.NDArray[np.int64]


def daily_samples(
    timelines: Iterable[ItemTimeline], now: datetime, tz: tzinfo, days: int = BASIS_DAYS
) -> list[int]:
    """Items finished on each of the ``days`` calendar days before today, oldest first."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    today = local_date(now, tz)
    return [p.count for p in throughput(timelines, today - timedelta(days=days), today, tz)]


@dataclass(frozen=True)
class WhenForecast:
    """When ``n`` more items will be done, at each confidence."""

    n: int
    start: date
    dates: dict[int, date | None]
    """Confidence (50/70/85/95) -> date done on or before; None when beyond the horizon."""
    trial_days: list[int]
    """Days each trial needed (1: done on ``start``), trials beyond the horizon left out."""
    beyond_horizon: int = 0
    """Trials that had not reached ``n`` after the horizon."""


@dataclass(frozen=True)
class HowManyForecast:
    """How many items will be done from ``start`` to ``target`` inclusive, at each confidence."""

    start: date
    target: date
    counts: dict[int, int]
    """Confidence (50/70/85/95) -> at least this many items."""
    trial_totals: list[int]


@dataclass(frozen=True)
class ForecastBasis:
    """What a team's forecasts at one instant simulate from, and the first day they simulate."""

    samples: list[int]
    """Items finished on each of the calendar days before ``today``, oldest first."""
    today: date
    """The as-of date in the team's time zone; it is neither sampled nor simulated."""

    @property
    def days(self) -> int:
        """How many past days are sampled."""
        return len(self.samples)

    @property
    def start(self) -> date:
        """The first simulated day: tomorrow."""
        return self.today + timedelta(days=1)

    def describe(self) -> str:
        """The basis in words, for every answer that shows a forecast."""
        return f"the team's daily throughput of the last {self.days} days"

    def when(self, n: int, seed: int = 0) -> WhenForecast | None:
        """When ``n`` more items will be done (None when nothing was finished in the basis)."""
        return forecast_when(self.samples, n, self.start, seed=seed)

    def how_many(self, target: date, seed: int = 0) -> HowManyForecast | None:
        """How many items will be done from tomorrow to ``target`` (None without throughput).

        Raises ``ValueError`` with a sentence for the user when ``target`` is out of range.
        """
        return forecast_how_many(self.samples, self.start, target, seed=seed)


def forecast_basis(
    timelines: Iterable[ItemTimeline], now: datetime, tz: tzinfo, days: int = BASIS_DAYS
) -> ForecastBasis:
    """The basis of the team's forecasts at ``now``: the ``days`` days before today, in ``tz``."""
    return ForecastBasis(daily_samples(timelines, now, tz, days), local_date(now, tz))


def _basis(samples: Sequence[int], trials: int) -> IntArray | None:
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if not samples:
        raise ValueError("no throughput samples: pass the daily counts of at least one past day")
    basis = np.asarray(samples, dtype=np.int64)
    if (basis < 0).any():
        raise ValueError("throughput samples must not be negative")
    return basis if basis.sum() > 0 else None


def _rank(confidence: int, trials: int) -> int:
    """Zero-based index of the nearest-rank ``confidence`` percent of ``trials`` sorted values."""
    return max(0, -(-confidence * trials // 100) - 1)


def forecast_when(
    samples: Sequence[int],
    n: int,
    start: date,
    trials: int = TRIALS,
    seed: int = 0,
    horizon_days: int = HORIZON_DAYS,
) -> WhenForecast | None:
    """Monte Carlo "when will ``n`` items be done" from ``start``; None when the basis is all 0.

    ``n <= 0`` is done already: every date is the day before ``start`` (today, by default).
    """
    basis = _basis(samples, trials)
    if basis is None:
        return None
    if n <= 0:
        today = start - timedelta(days=1)
        return WhenForecast(n, start, dict.fromkeys(CONFIDENCES, today), [0] * trials, 0)
    rng = np.random.default_rng(seed)
    days = np.full(trials, np.iinfo(np.int64).max, dtype=np.int64)
    totals = np.zeros(trials, dtype=np.int64)
    pending = np.arange(trials)
    elapsed = 0
    step = int(min(_BLOCK, max(8, 2 * n / basis.mean())))  # about twice the expected days
    while pending.size and elapsed < horizon_days:
        block = min(step, horizon_days - elapsed)
        draws = basis[rng.integers(0, basis.size, size=(pending.size, block))]
        running = totals[pending, None] + np.cumsum(draws, axis=1)
        reached = running >= n
        done = reached[:, -1]
        days[pending[done]] = elapsed + reached[done].argmax(axis=1) + 1
        totals[pending] = running[:, -1]
        pending = pending[~done]
        elapsed += block
    ordered = np.sort(days)
    dates: dict[int, date | None] = {}
    for c in CONFIDENCES:
        needed = int(ordered[_rank(c, trials)])
        dates[c] = start + timedelta(days=needed - 1) if needed <= horizon_days else None
    finished = ordered[: trials - pending.size]
    return WhenForecast(n, start, dates, finished.tolist(), int(pending.size))


def forecast_how_many(
    samples: Sequence[int],
    start: date,
    target: date,
    trials: int = TRIALS,
    seed: int = 0,
    horizon_days: int = HORIZON_DAYS,
) -> HowManyForecast | None:
    """Monte Carlo "how many items from ``start`` to ``target``"; None when the basis is all 0."""
    span = (target - start).days + 1
    if span < 0:
        raise ValueError(f"target ({target}) must not be before start ({start})")
    if span > horizon_days:
        raise ValueError(
            f"target ({target}) is more than {horizon_days} days after start ({start}): "
            "pick a nearer date"
        )
    basis = _basis(samples, trials)
    if basis is None:
        return None
    rng = np.random.default_rng(seed)
    totals = np.zeros(trials, dtype=np.int64)
    for offset in range(0, span, _BLOCK):
        block = min(_BLOCK, span - offset)
        totals += basis[rng.integers(0, basis.size, size=(trials, block))].sum(axis=1)
    descending = np.sort(totals)[::-1]
    counts = {c: int(descending[_rank(c, trials)]) for c in CONFIDENCES}
    return HowManyForecast(start, target, counts, totals.tolist())
