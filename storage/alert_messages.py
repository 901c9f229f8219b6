"""The alert messages the bot posted: one record per finding and channel, kept to update it later.

A record says where a finding's message is (its ``ts``, and the thread it was grouped into), its
state (open, acknowledged, snoozed, resolved) and who acted on it, so a later sweep edits the
message instead of posting a new one. The records also count a channel's posts for its daily cap,
and tell the detectors what the team's cards show now (:func:`shown_findings`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, func, insert, select, update

from insights.findings import Finding
from insights.report_json import finding_from_json
from storage.tables import AlertMessageRow

ALERTS = cast(Table, AlertMessageRow.__table__)
RESOLVED = "resolved"
"""The state of an alert whose finding cleared (``bot.slack.answering.render_alerts``)."""


@dataclass(frozen=True)
class AlertRecord:
    """A finding's message in a channel: where it is, its state, and who acted on it."""

    team: str
    channel_id: str
    dedupe_key: str
    detector: str
    severity: str
    finding: dict[str, Any]
    fingerprint: str
    state: str
    first_seen_at: datetime
    last_seen_at: datetime
    ts: str | None = None
    thread_ts: str | None = None
    posted_at: datetime | None = None
    resolved_at: datetime | None = None
    snoozed_until: datetime | None = None
    acted_by: str | None = None
    acted_at: datetime | None = None
    id: int | None = None


def _alert_from_row(row: Any) -> AlertRecord:
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(AlertRecord)}
    return AlertRecord(**values)


def load_alerts(engine: Engine, team: str, channel_id: str) -> list[AlertRecord]:
    """Every alert record of the team in the channel, oldest first."""
    query = (
        select(ALERTS)
        .where(ALERTS.c.team == team, ALERTS.c.channel_id == channel_id)
        .order_by(ALERTS.c.id)
    )
    with engine.connect() as conn:
        return [_alert_from_row(r) for r in conn.execute(query)]


def load_alert(engine: Engine, alert_id: int) -> AlertRecord | None:
    """One alert record by id (None when it does not exist)."""
    with engine.connect() as conn:
        row = conn.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).first()
    return None if row is None else _alert_from_row(row)


def save_alert(engine: Engine, record: AlertRecord) -> AlertRecord:
    """Insert a new record (``id`` None) or overwrite the stored one; return it with its id."""
    values = dataclasses.asdict(record)
    alert_id = values.pop("id")
    with engine.begin() as conn:
        if alert_id is None:
            result = conn.execute(insert(ALERTS).returning(ALERTS.c.id), values)
            alert_id = result.scalar_one()
        else:
            conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(**values))
    return dataclasses.replace(record, id=alert_id)


def count_channel_cards_since(engine: Engine, channel_id: str, since: datetime) -> int:
    """Alert cards posted in the channel since ``since`` (each card in a group's thread counts)."""
    query = select(func.count()).where(
        ALERTS.c.channel_id == channel_id, ALERTS.c.posted_at >= since, ALERTS.c.ts.is_not(None)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def shown_findings(engine: Engine, team: str) -> dict[str, Finding]:
    """What the team's alert cards show now: per dedupe key, the finding of its latest record.

    Across the team's channels, resolved records left out; the latest is the one seen last.
    """
    query = (
        select(ALERTS.c.dedupe_key, ALERTS.c.finding)
        .where(ALERTS.c.team == team, ALERTS.c.state != RESOLVED)
        .order_by(ALERTS.c.last_seen_at, ALERTS.c.id)
    )
    with engine.connect() as conn:
        return {key: finding_from_json(finding) for key, finding in conn.execute(query)}
