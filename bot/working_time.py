"""A team's working calendar from app.yaml, and ages worded in working time for people to read."""

from __future__ import annotations

from datetime import datetime

from bot.config import TeamConfig
from insights.working_time import WorkCalendar, working_days


def calendar_of(team: TeamConfig) -> WorkCalendar:
    """The team's ``working_hours`` and ``holidays`` in its time zone."""
    hours = team.working_hours
    return WorkCalendar(
        team.zone, hours.start, hours.end, tuple(hours.days), frozenset(team.holidays)
    )


def working_age(since: datetime, now: datetime, team: TeamConfig) -> str:
    """``1.5 working days`` (or ``3 working hours`` under one working day), labelled as such."""
    calendar = calendar_of(team)
    days = working_days(since, now, calendar)
    if days < 1:
        hours = days * calendar.day_seconds / 3600
        return f"{hours:.0f} working hour{'s' if round(hours) != 1 else ''}"
    shown = f"{days:.1f}".removesuffix(".0")
    return f"{shown} working day{'s' if shown != '1' else ''}"
