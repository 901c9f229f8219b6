"""Working time: ages people read leave out nights, weekends and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.config import TeamConfig
from bot.working_time import calendar_of, working_age
from insights.working_time import WorkCalendar, working_days, working_seconds

LONDON = ZoneInfo("Europe/London")
CALENDAR = WorkCalendar(LONDON)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of December 2026 in London (GMT, so equal to UTC)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=LONDON)


def test_a_pull_request_opened_on_friday_evening_has_not_waited_on_monday_morning() -> None:
    # Friday 4 December 19:00 to Monday 7 December 09:30: half an hour of work time
    assert working_seconds(at(4, 19), at(7, 9, 30), CALENDAR) == pytest.approx(1800)


def test_a_full_working_week_is_five_working_days() -> None:
    assert working_days(at(7, 9), at(14, 9), CALENDAR) == pytest.approx(5)


def test_a_holiday_is_left_out_like_a_weekend() -> None:
    calendar = WorkCalendar(LONDON, holidays=frozenset({date(2026, 12, 25)}))
    # Thursday 24 09:00 to Monday 28 09:00: Thursday and (not) Friday the 25th
    assert working_days(at(24, 9), at(28, 9), calendar) == pytest.approx(1)
    assert working_days(at(24, 9), at(28, 9), CALENDAR) == pytest.approx(2)


def test_a_span_ending_before_it_starts_is_no_time() -> None:
    assert working_seconds(at(8, 12), at(8, 10), CALENDAR) == 0


def test_a_night_shift_runs_past_midnight() -> None:
    night = WorkCalendar(
        UTC, start=time(22), end=time(6), days=("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    start = datetime(2026, 12, 7, 21, tzinfo=UTC)
    assert working_seconds(start, datetime(2026, 12, 8, 7, tzinfo=UTC), night) == 8 * 3600


def test_ages_are_labelled_working_time_from_the_teams_calendar() -> None:
    team = TeamConfig(
        name="payments",
        timezone="Europe/London",
        working_hours={"start": "09:00", "end": "17:00", "days": ["mon", "tue"]},
        holidays=["2026-12-08"],
    )
    calendar = calendar_of(team)
    assert calendar.day_seconds == 8 * 3600
    assert not calendar.works_on(date(2026, 12, 8))
    assert (
        working_age(at(7, 9), at(15, 13), team) == "2.5 working days"
    )  # Mon 7, Mon 14 and half of Tue 15
    assert working_age(at(7, 9), at(7, 12), team) == "3 working hours"
    assert working_age(at(7, 9), at(7, 17), team) == "1 working day"
