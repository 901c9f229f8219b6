"""How findings word numbers: durations people read at a glance, ordinals, dedupe keys."""

from __future__ import annotations

from typing import Any

from insights.findings import ASSIGNEE, AUTHOR
from insights.model import WorkItem

HOUR_SECONDS = 3600.0
DAY_SECONDS = 86400.0


def duration(seconds: float) -> str:
    """A duration in the unit a person would use: "45 minutes", "30 hours", "6.5 days"."""
    if seconds < HOUR_SECONDS:
        return plural(round(seconds / 60), "minute")
    if seconds < 2 * DAY_SECONDS:
        return plural(round(seconds / HOUR_SECONDS), "hour")
    return days(seconds / DAY_SECONDS)


def days(value: float) -> str:
    """A number of days with one decimal when it matters: "1 day", "6 days", "3.2 days"."""
    rounded = round(value, 1)
    if rounded == int(rounded):
        return plural(int(rounded), "day")
    return f"{rounded:.1f} days"


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, pluralised with an s: "1 item", "3 items"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def ordinal(n: int) -> str:
    """85 -> "85th", 1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def dedupe_key(detector: str, team: str, *parts: str) -> str:
    """The stable key of a problem: ``detector:team:part...`` (never includes the severity)."""
    return ":".join((detector, team, *parts))


def assigned(item: WorkItem) -> dict[str, Any]:
    """A finding's ``people`` and ``role`` when the item's assignee is the one to act."""
    return {"people": (item.assignee,), "role": ASSIGNEE} if item.assignee else {}


def authored(pr: WorkItem) -> dict[str, Any]:
    """A finding's ``people`` and ``role`` when the pull request's author is the one to act."""
    return {"people": (pr.author,), "role": AUTHOR} if pr.author else {}
