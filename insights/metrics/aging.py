"""Work item age: every item in progress with its age, oldest first (METRICS.md 3.4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from insights.item_timeline import (
    ItemTimeline,
)
from insights.metrics.shared import (
    calendar_days,
)
from insights.model import Stage
from insights.timeline_index import as_timelines


@dataclass(slots=True)
class AgingPoint:
    """One item in progress on the aging chart."""

    key: str
    title: str
    status: str
    stage: Stage
    started_at: datetime
    age_seconds: float
    age_days: int
    """ActionableAgile age: today's date minus the start date, plus one."""
    url: str | None
    blocked: bool

    @property
    def age_days_jam(self) -> int:
        """jira-agile-metrics age (no +1)."""
        return self.age_days - 1


def aging_wip(timelines: Iterable[ItemTimeline], now: datetime, tz: tzinfo) -> list[AgingPoint]:
    """Every item in progress at ``now`` with its age (METRICS.md 3.4), oldest first."""
    points = []
    for t in as_timelines(timelines).in_progress:
        if t.started_at is None or t.started_at > now:
            continue
        points.append(
            AgingPoint(
                key=t.item.key,
                title=t.item.title,
                status=t.item.status,
                stage=t.item.stage,
                started_at=t.started_at,
                age_seconds=(now - t.started_at).total_seconds(),
                age_days=calendar_days(t.started_at, now, tz),
                url=t.item.url,
                blocked=t.blocked_since is not None,
            )
        )
    points.sort(key=lambda p: (-p.age_seconds, p.key))
    return points
