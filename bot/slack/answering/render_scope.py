"""``/vsm forecast release 2.3`` (or an epic, a label, a filter): when a scope will be done.

The answer puts the forecast as it is and, when levers were given, the what-if beside it: the
dates at 50/85/95 %, the chance to make the target date, the items left and the scope's growth.
A forecast whose history is too short says so. :func:`scope_summary` is the same forecast on one
line of plain text (the message's fallback, and what ``vsm demo`` prints). ``/vsm track`` answers
with the forecast of the scope it starts tracking (:func:`render_tracked`), and lists what the
team tracks (:func:`render_tracked_list`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import Block

from bot.slack import ids
from bot.slack.answering.blocks import (
    Message,
    context,
    escape,
    fields,
    fit,
    header,
    list_sections,
    section,
)
from bot.slack.receiving.parser import scope_words
from insights.forecast import HORIZON_DAYS, TRIALS
from insights.scopes import ScopeForecast, ScopeRef

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
    summary, blocks = _forecast_blocks(team, base, what_if)
    return fit(summary, blocks)


def _forecast_blocks(
    team: str, base: ScopeForecast, what_if: ScopeForecast | None
) -> tuple[str, list[Block]]:
    """The forecast's blocks, and its summary in plain text (the message's fallback)."""
    blocks: list[Block] = [header(f"When will {base.ref.name} be done? · {team}")]
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
    return summary, blocks


def render_tracked(team: str, forecast: ScopeForecast) -> Message:
    """``/vsm track``: the scope is tracked now, and its forecast (none while it has no items)."""
    ref = forecast.ref
    tracking = (
        f"Tracking {_what(ref)}: the report, the digest and scope_at_risk now include it{_by(ref)}."
    )
    if forecast.total == 0:
        text = f"{tracking} It has no items yet: its forecast starts with its first item."
        return fit(text, [section(escape(text))])
    summary, blocks = _forecast_blocks(team, forecast, None)
    return fit(f"{tracking} {summary}", [section(escape(tracking)), *blocks])


def render_tracked_list(team: str, scopes: Sequence[tuple[ScopeRef, str | None]]) -> Message:
    """``/vsm track`` alone: each scope the team tracks, and where it is tracked.

    ``scopes`` pairs each scope with who tracked it from Slack (a user id, "" unknown), None for
    app.yaml's.
    """
    if not scopes:
        text = (
            f"{team} tracks no scope yet. Track one with `{ids.COMMAND} track release 2.3`, "
            "or list it under teams[].scopes in app.yaml."
        )
        return fit(text, [section(escape(text))])
    lines = [_tracked_line(ref, added_by) for ref, added_by in scopes]
    return fit(
        f"Scopes {team} tracks: " + ", ".join(ref.name for ref, _ in scopes),
        [
            header(f"Scopes {team} tracks"),
            *list_sections(lines),
            context(
                f"`{ids.COMMAND} untrack` stops tracking a scope tracked here; app.yaml's scopes "
                "change in app.yaml (teams[].scopes)."
            ),
        ],
    )


def _tracked_line(ref: ScopeRef, added_by: str | None) -> str:
    where = "tracked from Slack" + (f" by <@{escape(added_by)}>" if added_by else "")
    if added_by is None:
        where = "app.yaml"
    return (
        f"• *{escape(ref.name)}* (`{escape(scope_words(ref.kind, ref.key))}`){_by(ref)} · {where}"
    )


def _what(ref: ScopeRef) -> str:
    """``release 2.3``, or ``Release 2.3 (release 2.3)`` when it has a name of its own."""
    words = scope_words(ref.kind, ref.key)
    return words if ref.name == f"{ref.kind} {ref.key}" else f"{ref.name} ({words})"


def _by(ref: ScopeRef) -> str:
    return "" if ref.target is None else f", target {_day(ref.target)}"
