"""What a chart is asked to show: the team's snapshot, the instant, the window and options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.charts import DEFAULT_WINDOW_DAYS
from bot.charts.style import Header
from bot.config import TeamConfig
from insights.item_timeline import day_start
from insights.model import Snapshot, Stage


@dataclass(frozen=True)
class ChartRequest:
    """One chart to draw for one team as of ``now`` (aware UTC)."""

    snapshot: Snapshot
    team: TeamConfig
    now: datetime
    window_days: int = DEFAULT_WINDOW_DAYS
    forecast_items: int | None = None
    forecast_date: date | None = None
    dpi: int = 100
    item_key: str | None = None
    """The item an item chart is of (``PAY-12``, or a pull request linked to one)."""

    @property
    def tz(self) -> ZoneInfo:
        """The team's time zone: days and weeks are counted in it."""
        return self.team.zone

    @property
    def today(self) -> date:
        """The as-of date in the team's time zone."""
        return self.now.astimezone(self.tz).date()

    @property
    def first_day(self) -> date:
        """The first of the window's ``window_days`` local days (the last one is today)."""
        return self.today - timedelta(days=self.window_days - 1)

    @property
    def window_start(self) -> datetime:
        """The instant the window begins: midnight of its first day in the team's time zone."""
        return day_start(self.first_day, self.tz)

    def header(self, chart: str, window: str) -> Header:
        """The chart's title block."""
        return Header(chart=chart, team=self.team.name, window=window, as_of=self.today)

    def statuses_in(self, *stages: Stage) -> list[str]:
        """The team's workflow statuses mapped to ``stages``, in board order."""
        return [status for status, stage in self.team.workflow.items() if stage in stages]
