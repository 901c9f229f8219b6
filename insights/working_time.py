"""Working time: how much of a span fell inside a team's working hours, days and holidays.

The metrics count calendar time (METRICS.md). What a person reads in a card, a digest line or
``/vsm me`` ("waiting for review for 1.2 working days") counts only the team's working hours, so a
pull request opened on Friday evening has not waited three days by Monday morning. A working day
is one full span of working hours (09:00-18:00 is 9 hours).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkCalendar:
    """A team's working hours (``start`` to ``end`` local time) on ``days``, minus ``holidays``.

    ``end`` earlier than ``start`` (a night shift) runs past midnight into the next day.
    """

    tz: tzinfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    days: Collection[str] = WEEKDAYS[:5]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def day_seconds(self) -> float:
        """The length of one working day in seconds."""
        start = timedelta(hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(hours=self.end.hour, minutes=self.end.minute)
        span = (end - start).total_seconds()
        return span if span > 0 else span + 86400.0

    def works_on(self, day: date) -> bool:
        """True on a working weekday that is no holiday."""
        return WEEKDAYS[day.weekday()] in self.days and day not in self.holidays

    def _shift(self, day: date) -> tuple[datetime, datetime]:
        begin = datetime.combine(day, self.start, tzinfo=self.tz)
        return begin, begin + timedelta(seconds=self.day_seconds)


def working_seconds(since: datetime, until: datetime, calendar: WorkCalendar) -> float:
    """Seconds of working time between ``since`` and ``until`` (0 when ``until`` is earlier)."""
    if until <= since:
        return 0.0
    day = since.astimezone(calendar.tz).date() - timedelta(days=1)
    last = until.astimezone(calendar.tz).date()
    total = 0.0
    while day <= last:
        if calendar.works_on(day):
            begin, end = calendar._shift(day)
            overlap = (min(end, until) - max(begin, since)).total_seconds()
            total += max(0.0, overlap)
        day += timedelta(days=1)
    return total


def working_days(since: datetime, until: datetime, calendar: WorkCalendar) -> float:
    """Working time between the two instants in working days (see the module docstring)."""
    return working_seconds(since, until, calendar) / calendar.day_seconds
