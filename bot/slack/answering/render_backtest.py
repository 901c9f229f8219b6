"""The noise estimate shown before a user changes an alert setting (``/vsm alerts``).

:func:`alert_estimate` replays the team's last days with the current alert policy
(:mod:`insights.backtest`) and says how many new cards and mentions a day that would have sent,
by detector, against the noise budget of :data:`insights.backtest.BUDGET` new cards per channel
per day; over the budget, it names the single change that gets within it missing the fewest items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import TeamConfig
from bot.slack.answering.answers import Answers
from bot.slack.answering.blocks import Message, context, escape, fit, section
from bot.slack.delivering.alerts import AlertPolicy
from bot.working_time import calendar_of
from insights.backtest import (
    BUDGET,
    Backtest,
    BacktestPolicy,
    DetectorTotals,
    Replay,
    levers,
    simulate,
)
from storage.slack_settings import active_mutes

DETECTORS_SHOWN = 6


def backtest_policy(policy: AlertPolicy) -> BacktestPolicy:
    """The values of the alert pipeline's ``policy`` that decide how many cards it sends."""
    return BacktestPolicy(
        min_severity=policy.min_severity, daily_cap=policy.daily_cap, cooldown=policy.cooldown
    )


def per_day(value: float) -> str:
    """``1.6/day``."""
    return f"{value:.1f}/day"


def _detectors(totals: Sequence[DetectorTotals]) -> str:
    shown = [
        f"{t.detector.replace('_', ' ')} {per_day(t.mean_cards_per_day)} "
        f"(max {t.max_cards_per_day})"
        for t in totals[:DETECTORS_SHOWN]
        if t.cards
    ]
    more = sum(1 for t in totals[DETECTORS_SHOWN:] if t.cards)
    return ", ".join(shown) + (f" and {more} more" if more else "") if shown else "none"


def _verdict(replay: Replay, result: Backtest) -> str:
    if result.within(BUDGET):
        return f"That is within the budget of {BUDGET} new cards per channel per day."
    over = sum(1 for row in result.rows if row.new_cards > BUDGET)
    head = (
        f"That is over the budget of {BUDGET} new cards per channel per day on "
        f"{over} day{'s' if over != 1 else ''}."
    )
    tried = levers(replay, result.policy, BUDGET)
    if not tried or not tried[0].result.within(BUDGET):
        return f"{head} No single change of severity or daily cap keeps it within the budget."
    best = tried[0]
    missed = len(best.result.missed)
    cost = (
        "every item still gets its card, some of them later"
        if not missed
        else f"{missed} item{'s' if missed != 1 else ''} would get no card"
    )
    return (
        f"{head} Cheapest lever: *{escape(best.label)}* → {per_day(best.result.mean_new_cards)} "
        f"(max {best.result.max_new_cards}); {cost}."
    )


def alert_estimate(
    answers: Answers, team: TeamConfig, now: datetime, policy: AlertPolicy, days: int = 30
) -> Message:
    """What the alerts of ``team`` would have sent over the last ``days`` days with ``policy``."""
    muted = [m.detector for m in active_mutes(answers.engine, team.name, now)]
    replay = Replay(
        answers.snapshot(team),
        team.agreements,
        calendar_of(team),
        now,
        days,
        muted=muted,
        teams_by_project=answers.teams_by_project,
        others=answers.others(team),
    )
    result = simulate(replay, backtest_policy(policy))
    if not result.rows:
        text = f"No working day in the last {days} days to estimate the alerts of {team.name} from."
        return fit(text, [section(escape(text))])
    estimate = (
        f"With the current settings, the last {days} days would have sent on average "
        f"{result.mean_new_cards:.1f} new cards a day (max {result.max_new_cards}), "
        f"{result.mean_mentions:.1f} mentions a day; by detector: {_detectors(result.detectors)}."
    )
    settings = (
        f"min severity {policy.min_severity.value} · daily cap {policy.daily_cap} · "
        f"{result.runs} hourly runs on {len(result.rows)} working days"
    )
    return fit(
        estimate,
        [
            section(escape(estimate)),
            section(_verdict(replay, result)),
            context(escape(f"{team.name}: {settings}")),
        ],
    )
