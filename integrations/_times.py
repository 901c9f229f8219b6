"""Vendor timestamps in and out: ISO 8601 text to aware UTC datetimes (second precision) and back.

GitHub writes ``2026-11-20T09:15:00Z``, GitLab ``2026-11-20T09:15:00.123+01:00``, PagerDuty ``Z``;
all become aware UTC instants truncated to the second (METRICS.md section 0.1). Anything else is a
malformed record: :func:`require_time` raises ``ValueError`` naming the field. Calendar days
(Jira's ``duedate`` and a version's ``releaseDate``, GitLab's milestone ``due_date``) are
``YYYY-MM-DD``: :func:`parse_day`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_time(value: Any, field: str = "timestamp") -> datetime | None:
    """An aware UTC datetime from ISO 8601 text; None for null or empty; ValueError otherwise."""
    parsed = parse_precise(value, field)
    return None if parsed is None else parsed.replace(microsecond=0)


def parse_precise(value: Any, field: str = "timestamp") -> datetime | None:
    """Like :func:`parse_time` but keeping the vendor's sub-second precision (for marks)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} is not a timestamp: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} is not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{field} has no time zone: {value!r}")
    return parsed.astimezone(UTC)


def require_time(value: Any, field: str) -> datetime:
    """Like :func:`parse_time`, but a missing value is malformed too."""
    parsed = parse_time(value, field)
    if parsed is None:
        raise ValueError(f"{field} is missing")
    return parsed


def format_time(value: datetime) -> str:
    """ISO 8601 UTC text with a ``Z``, as the vendors' query parameters expect."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise(value: datetime) -> str:
    """ISO 8601 UTC text with milliseconds and a ``Z`` (GitLab's own precision)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_day(value: Any) -> date:
    """A vendor's calendar day, ``YYYY-MM-DD``; ``ValueError`` for anything else."""
    if isinstance(value, str) and _DAY.fullmatch(value):
        return date.fromisoformat(value)
    raise ValueError(f"{str(value)[:40]!r} is not a YYYY-MM-DD date")
