"""Vendor webhooks in the database: the deliveries already seen, and each source's webhook health.

A webhook is only a hint that a source changed, and vendors deliver at least once: a delivery id
is inserted into ``webhook_deliveries`` and the insert is the atomic check, so a redelivery is
recognised by every process on the database and after a restart. Deliveries are kept
:data:`KEEP` (vendors retry for hours, not days), then purged by the next insert.

``webhook_health`` has one row per team's source (its ``source_key``, ``<team>/<source name>``):
when a webhook last arrived, how many records the latest reconciliation pull found that the
webhooks had missed, and when the admins were told the source fell back to the pull interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, select

from storage.db import conflict_insert
from storage.tables import WebhookDeliveryRow, WebhookHealthRow

DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)
HEALTH = cast(Table, WebhookHealthRow.__table__)
KEEP = timedelta(days=7)
"""How long a delivery id is remembered (GitHub, GitLab, Jira and PagerDuty retry for hours)."""


@dataclass(frozen=True)
class WebhookHealth:
    """A team's source as its webhooks see it."""

    source_key: str
    last_received_at: datetime | None
    missed_records: int
    """What the latest reconciliation pull found that no webhook had announced."""
    reconciled_at: datetime | None
    fallback_told_at: datetime | None


def remember_delivery(engine: Engine, source: str, delivery_id: str, now: datetime) -> bool:
    """Record a verified delivery for ``source``: True the first time, False for a redelivery.

    Deliveries received more than :data:`KEEP` before ``now`` are purged in the same transaction.
    """
    with engine.begin() as conn:
        conn.execute(delete(DELIVERIES).where(DELIVERIES.c.received_at < now - KEEP))
        statement = (
            conflict_insert(conn, DELIVERIES)
            .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
            .returning(DELIVERIES.c.delivery_id)
        )
        row = conn.execute(
            statement, {"source": source, "delivery_id": delivery_id, "received_at": now}
        ).first()
    return row is not None


def record_received(engine: Engine, source_keys: Sequence[str], now: datetime) -> None:
    """A webhook arrived at ``now`` for each of these team sources."""
    with engine.begin() as conn:
        for key in source_keys:
            _set(conn, key, last_received_at=now)


def record_reconciliation(engine: Engine, source_key: str, missed: int, now: datetime) -> None:
    """A reconciliation pull of ``source_key`` ended at ``now``, finding ``missed`` records."""
    with engine.begin() as conn:
        _set(conn, source_key, missed_records=missed, reconciled_at=now)


def mark_fallback_told(engine: Engine, source_key: str, now: datetime) -> None:
    """The admins were told at ``now`` that ``source_key`` fell back to the pull interval."""
    with engine.begin() as conn:
        _set(conn, source_key, fallback_told_at=now)


def load_webhook_health(engine: Engine) -> dict[str, WebhookHealth]:
    """Every team source's webhook health, by source key."""
    with engine.connect() as conn:
        rows = conn.execute(select(HEALTH).order_by(HEALTH.c.source_key))
        return {row.source_key: WebhookHealth(**row._asdict()) for row in rows}


def _set(conn: Connection, source_key: str, **values: Any) -> None:
    """Set these columns of ``source_key``'s row (created when missing), leaving the others."""
    statement = conflict_insert(conn, HEALTH).values(
        {"source_key": source_key, "missed_records": 0, **values}
    )
    conn.execute(statement.on_conflict_do_update(index_elements=["source_key"], set_=values))
