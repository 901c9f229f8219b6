"""The Monte Carlo burn-up of a scope (METRICS.md 3.9 with scope growth), seeded and vectorised.

Each trial starts with ``remaining`` items left. Each simulated calendar day (the first is
tomorrow) finishes a number of items drawn uniformly with replacement from the team's daily
throughput basis (:func:`insights.forecast.forecast_basis`) and adds to the scope a number of items
drawn the same way from the scope's own daily history of added items; a trial is done on the first
day its finished items reach its scope (``remaining - Σ finished + Σ added <= 0``).

A throughput factor scales each day's draw ``t`` to ``t * factor`` rounded stochastically:
``floor(t * factor)`` plus one with probability equal to the fraction, so the mean is exactly
``factor`` times the basis mean and small counts (1 or 2 a day) are not rounded away.

Common random numbers: the throughput draws, the growth draws and the rounding draws come from
three generators spawned from one seed, in blocks of fixed size for every trial. Two simulations
with the same seed therefore see the same days whatever their levers, and a lever moves every
trial the same way (freezing the scope, cutting items or a higher factor never make a trial
finish later), so the levers move the dates in the right direction without sampling noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BLOCK_DAYS = 64
"""Days simulated at once for every trial (bounds memory: trials x block draws per array)."""
NEVER = np.iinfo(np.int64).max
"""The days of a trial not done within the simulated days."""


@dataclass(frozen=True)
class Trials:
    """What a simulation found per trial."""

    days: IntArray
    """The day each trial was done (1: tomorrow, 0: already done), :data:`NEVER` when it was not
    done within the simulated days."""
    best_progress: IntArray
    """Per trial, the most net progress (finished minus added items) reached on any simulated
    day, 0 included: a trial with ``k`` fewer items left would be done iff ``best >= remaining -
    k``."""


def simulate(
    throughput: IntArray,
    growth: IntArray,
    remaining: int,
    *,
    days: int,
    trials: int,
    seed: int,
    factor: float = 1.0,
) -> Trials:
    """Simulate ``trials`` burn-ups of ``remaining`` items over at most ``days`` calendar days.

    ``growth`` all 0 (or empty) leaves the scope as it is. The simulation stops early once every
    trial is done.
    """
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if factor <= 0:
        raise ValueError(f"the throughput factor must be greater than 0, got {factor}")
    thr_rng, growth_rng, round_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    grows = growth.size > 0 and bool(growth.any())
    done_on = np.full(trials, 0 if remaining <= 0 else NEVER, dtype=np.int64)
    progress = np.zeros(trials, dtype=np.int64)
    best = np.zeros(trials, dtype=np.int64)
    elapsed = 0
    while elapsed < days and (done_on == NEVER).any():
        block = min(BLOCK_DAYS, days - elapsed)
        finished = throughput[thr_rng.integers(0, throughput.size, size=(trials, BLOCK_DAYS))]
        if factor != 1.0:
            scaled = finished * factor
            whole = np.floor(scaled)
            chance = round_rng.random(size=scaled.shape)
            finished = (whole + (chance < scaled - whole)).astype(np.int64)
        net = finished
        if grows:
            net = finished - growth[growth_rng.integers(0, growth.size, size=(trials, BLOCK_DAYS))]
        running = progress[:, None] + np.cumsum(net[:, :block], axis=1)
        best = np.maximum(best, running.max(axis=1))
        reached = running >= remaining
        newly = (done_on == NEVER) & reached.any(axis=1)
        done_on[newly] = elapsed + reached[newly].argmax(axis=1) + 1
        progress = running[:, -1]
        elapsed += block
    return Trials(done_on, best)


def rank(confidence: float, trials: int) -> int:
    """Zero-based index of the nearest-rank ``confidence`` (0..1] of ``trials`` sorted values.

    The share is rounded to 9 places first, so 0.7 of 10,000 is the 7,000th value, not the 7,001st.
    """
    return max(0, math.ceil(round(confidence * trials, 9)) - 1)
