"""``/vsm forecast epic KEY`` and ``label NAME``: when a scope will be done, and what if.

The answer puts the forecast as it is and, when levers were given, the what-if beside it: the
dates at 50/85/95 %, the chance to make the target date, the items left and the scope's growth.
A forecast whose history is too short says so. :func:`scope_summary` is the same forecast on one
line of plain text (the message's fallback, and what ``vsm demo`` prints).
"""

from __future__ import annotations

from datetime import date

from bot.slack.answering.blocks import Message, context, escape, fields, fit, header, section
from insights.forecast import HORIZON_DAYS, TRIALS
from insights.scopes import ScopeForecast

AT_RISK_BELOW = 0.7
"""A chance to make the target below this is shown as at risk (the detector's default)."""


def _day(day: date | None) -> str:
    return "not within 10 years" if day is None else f"{day:%a %d %b %Y}"


def _chance(forecast: ScopeForecast) -> str | None:
    """``23% chance by Mon 15 Jan 2027``; None without a target."""
    target, probability = forecast.ref.target, forecast.probability
    if target is None or probability is None:
        return None
    return f"{probability:.0%} chance by {_day(target)}"


def _column(forecast: ScopeForecast) -> str:
    """One forecast as a field's lines (mrkdwn, nothing from outside in it)."""
    lines = [f"{q}%: {_day(d)}" for q, d in sorted(forecast.dates.items())]
    chance = _chance(forecast)
    if chance is not None:
        at_risk = forecast.probability is not None and forecast.probability < AT_RISK_BELOW
        lines.append(f"*{chance}*" + (" :warning:" if at_risk else ""))
    lines.append(f"{forecast.remaining} of {forecast.total} left")
    lines.append(f"growth {forecast.growth_per_week:.1f} a week")
    return "\n".join(lines)


def scope_summary(forecast: ScopeForecast) -> str:
    """The forecast on one line of plain text (the scope's name is outside text: escape it)."""
    done = f"{forecast.done} of {forecast.total} done, {forecast.remaining} left"
    growth = f"growing {forecast.growth_per_week:.1f} a week"
    if forecast.never:
        when = "never done within 10 years: the scope grows as fast as the team finishes"
    else:
        when = ", ".join(f"{q}%: {d or 'later'}" for q, d in sorted(forecast.dates.items()))
    chance = _chance(forecast)
    caveat = f" (history too short: {forecast.too_short})" if forecast.too_short else ""
    tail = f"; {chance}" if chance else ""
    return f"{forecast.ref.name}: {done}, {growth}; {when}{tail}{caveat}"


def render_scope(team: str, base: ScopeForecast, what_if: ScopeForecast | None = None) -> Message:
    """The forecast of a scope, and the what-if with its levers beside it when there is one."""
    name = base.ref.name
    if base.total == 0:
        return fit(
            f"{name}: no items",
            [section(f"I found no open or done items in {escape(name)} for {escape(team)}.")],
        )
    blocks = [header(f"When will {name} be done? · {team}")]
    columns = [("As it is", _column(base))]
    if what_if is not None:
        columns.append((f"What if: {what_if.levers.describe()}", _column(what_if)))
    blocks.append(fields([(escape(label), value) for label, value in columns]))
    if base.never:
        blocks.append(
            section(
                ":warning: At this pace it is never done: the scope grows about as fast as the "
                "team finishes. Freeze the scope or cut items to see when it could be."
            )
        )
    notes = [
        f"Monte Carlo of {TRIALS:,} futures from tomorrow (up to {HORIZON_DAYS // 365} years): "
        f"the team's daily throughput of the last {base.basis_days} days, and the scope's own "
        "daily growth; an item joins the scope the day it was created."
    ]
    if base.too_short:
        notes.insert(0, f":warning: History too short to trust: {escape(base.too_short)}.")
    blocks.append(context(*notes))
    summary = scope_summary(base)
    if what_if is not None:
        summary += f" | what if ({what_if.levers.describe()}): " + scope_summary(what_if)
    return fit(summary, blocks)
