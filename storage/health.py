"""Each source's sync health: last attempt, success and error, failures in a row, what it saw.

``vsm sync`` and the bot's scheduler record the outcome of every sync of a source; ``/vsm status``
reports it and the admins are alerted when a source keeps failing or goes stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, select

from storage.pages import upsert
from storage.tables import SourceHealthRow

HEALTH = cast(Table, SourceHealthRow.__table__)


@dataclass(frozen=True)
class SourceHealth:
    """A source's sync health as stored."""

    source_key: str
    team: str
    source: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    records_seen: int
    skipped: int
    unmapped_statuses: list[str] = field(default_factory=list)


def record_health(
    engine: Engine,
    *,
    source_key: str,
    team: str,
    source: str,
    now: datetime,
    error: str | None = None,
    records: int = 0,
    skipped: int = 0,
    unmapped: Iterable[str] = (),
) -> None:
    """Record the outcome of one sync of a source."""
    with engine.begin() as conn:
        previous = conn.execute(select(HEALTH).where(HEALTH.c.source_key == source_key)).first()
        failures = previous.consecutive_failures if previous is not None else 0
        row: dict[str, Any] = {
            "source_key": source_key,
            "team": team,
            "source": source,
            "last_attempt_at": now,
            "last_success_at": previous.last_success_at if previous is not None else None,
            "last_error_at": previous.last_error_at if previous is not None else None,
            "last_error": previous.last_error if previous is not None else None,
            "consecutive_failures": failures + 1 if error else 0,
            "records_seen": records,
            "skipped": skipped,
            "unmapped_statuses": sorted(set(unmapped)),
        }
        if error:
            row.update(last_error_at=now, last_error=error)
        else:
            row.update(last_success_at=now)
        upsert(conn, HEALTH, [row])


def load_health(engine: Engine, team: str | None = None) -> list[SourceHealth]:
    """Every source's health, optionally for one team."""
    query = select(HEALTH).order_by(HEALTH.c.source_key)
    if team is not None:
        query = query.where(HEALTH.c.team == team)
    with engine.connect() as conn:
        return [SourceHealth(**row._asdict()) for row in conn.execute(query)]
