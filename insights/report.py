"""The team digest: the handful of numbers and items a team should look at now.

Pure: it takes a :class:`~insights.model.Snapshot`, the team's agreements, ``now`` and the team's
time zone, and returns plain data that the terminal, JSON and Slack renderers all share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from insights.agreements import Agreements
from insights.model import Snapshot
from insights.percentiles import percentile
from insights.timeline import ItemTimeline, build_timeline

DAY = 86400.0


@dataclass(frozen=True)
class ItemLine:
    """One item the digest names, with why."""

    key: str
    title: str
    status: str
    age_seconds: float
    url: str | None
    detail: str


@dataclass(frozen=True)
class Digest:
    """What ``vsm report`` shows."""

    team: str
    as_of: datetime
    window_days: int
    wip: int
    wip_limit: int | None
    throughput: int
    cycle_time_seconds_p50: float | None
    cycle_time_seconds_p85: float | None
    finished_in_history: int
    aging: list[ItemLine] = field(default_factory=list)
    blocked: list[ItemLine] = field(default_factory=list)


def timelines(snapshot: Snapshot) -> list[ItemTimeline]:
    """The timeline of every issue in the snapshot."""
    return [
        build_timeline(item, snapshot.transitions.get(item.id, ()), snapshot.flags.get(item.id, ()))
        for item in snapshot.issues()
    ]


def build_digest(
    snapshot: Snapshot,
    agreements: Agreements,
    now: datetime,
    tz: tzinfo,
    window_days: int = 14,
) -> Digest:
    """Summarise ``snapshot`` as of ``now``: WIP, throughput, cycle time and items at risk."""
    lines = [t for t in timelines(snapshot) if t.item.created_at <= now]
    history_start = now - timedelta(days=agreements.history_days)
    cycle_times = [
        ct
        for t in lines
        if t.finished_at is not None
        and history_start <= t.finished_at < now
        and (ct := t.cycle_time_seconds()) is not None
    ]
    p50 = percentile(cycle_times, 0.5) if len(cycle_times) >= 5 else None
    p85 = percentile(cycle_times, 0.85) if len(cycle_times) >= 5 else None
    threshold = (
        percentile(cycle_times, agreements.aging_percentile / 100)
        if len(cycle_times) >= 5
        else None
    )
    window_start = now - timedelta(days=window_days)
    in_progress = [t for t in lines if t.in_progress]
    aging = []
    blocked = []
    for t in in_progress:
        age = t.age_seconds(now) or 0.0
        if threshold is not None and age >= threshold:
            aging.append(
                _line(
                    t,
                    age,
                    f"{age / DAY:.0f} days old, past the team's "
                    f"p{agreements.aging_percentile} of {threshold / DAY:.1f} days",
                )
            )
        since = t.blocked_since
        if since is not None:
            blocked_for = (now - since).total_seconds()
            reason = "flagged" if t.flagged_since is not None else f"in {t.item.status}"
            blocked.append(_line(t, age, f"{reason} for {blocked_for / DAY:.1f} days"))
    return Digest(
        team=snapshot.team,
        as_of=now,
        window_days=window_days,
        wip=len(in_progress),
        wip_limit=agreements.wip_limit,
        throughput=sum(
            1 for t in lines if t.finished_at is not None and window_start <= t.finished_at < now
        ),
        cycle_time_seconds_p50=p50,
        cycle_time_seconds_p85=p85,
        finished_in_history=len(cycle_times),
        aging=sorted(aging, key=lambda line: -line.age_seconds),
        blocked=sorted(blocked, key=lambda line: -line.age_seconds),
    )


def _line(t: ItemTimeline, age: float, detail: str) -> ItemLine:
    return ItemLine(t.item.key, t.item.title, t.item.status, age, t.item.url, detail)
