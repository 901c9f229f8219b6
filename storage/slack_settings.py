"""The settings people change in Slack: digest subscriptions, detector mutes, alert channels.

app.yaml stays declarative; what a person asks for from Slack lives here: which channels get a
team's daily or weekly digest, which detectors are muted for a team (for a while or for good),
and the channels where a team's alerts were switched on or off. Together, the subscriptions and
the alert channels say which teams a channel follows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, delete, insert, or_, select

from storage.pages import upsert
from storage.tables import AlertChannelRow, MuteRow, SubscriptionRow

SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
MUTES = cast(Table, MuteRow.__table__)
ALERT_CHANNELS = cast(Table, AlertChannelRow.__table__)


@dataclass(frozen=True)
class Subscription:
    """A digest a channel asked for: ``daily`` at ``at``, or ``weekly`` on ``weekday`` at ``at``."""

    team: str
    channel_id: str
    kind: str
    at: str
    weekday: str | None
    created_by: str
    created_at: datetime
    workspace_id: str | None = None


@dataclass(frozen=True)
class Mute:
    """A detector whose findings are not alerted for a team, until ``until`` (None: for good)."""

    team: str
    detector: str
    until: datetime | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class AlertChannel:
    """Whether a channel receives a team's alerts (overrides the app.yaml channel's default)."""

    team: str
    channel_id: str
    enabled: bool
    changed_by: str
    changed_at: datetime
    workspace_id: str | None = None


# --- subscriptions ---


def save_subscription(engine: Engine, subscription: Subscription) -> None:
    """Create or replace the channel's subscription of that kind for the team."""
    row = dataclasses.asdict(subscription)
    with engine.begin() as conn:
        conn.execute(delete(SUBSCRIPTIONS).where(_subscription_match(subscription)))
        conn.execute(insert(SUBSCRIPTIONS), row)


def _subscription_match(subscription: Subscription) -> Any:
    return and_(
        SUBSCRIPTIONS.c.team == subscription.team,
        SUBSCRIPTIONS.c.channel_id == subscription.channel_id,
        SUBSCRIPTIONS.c.kind == subscription.kind,
    )


def delete_subscriptions(engine: Engine, team: str, channel_id: str, kind: str | None) -> int:
    """Remove the channel's subscriptions for the team (of one kind, or all); return how many."""
    condition = and_(SUBSCRIPTIONS.c.team == team, SUBSCRIPTIONS.c.channel_id == channel_id)
    if kind is not None:
        condition = and_(condition, SUBSCRIPTIONS.c.kind == kind)
    with engine.begin() as conn:
        return conn.execute(delete(SUBSCRIPTIONS).where(condition)).rowcount


def load_subscriptions(engine: Engine, team: str | None = None) -> list[Subscription]:
    """Every subscription (of one team), in a stable order."""
    query = select(SUBSCRIPTIONS).order_by(
        SUBSCRIPTIONS.c.team, SUBSCRIPTIONS.c.channel_id, SUBSCRIPTIONS.c.kind
    )
    if team is not None:
        query = query.where(SUBSCRIPTIONS.c.team == team)
    with engine.connect() as conn:
        return [
            Subscription(
                team=r.team,
                channel_id=r.channel_id,
                kind=r.kind,
                at=r.at,
                weekday=r.weekday,
                created_by=r.created_by,
                created_at=r.created_at,
                workspace_id=r.workspace_id,
            )
            for r in conn.execute(query)
        ]


# --- mutes ---


def save_mute(engine: Engine, mute: Mute) -> None:
    """Mute a detector for a team (replacing an earlier mute of it)."""
    with engine.begin() as conn:
        upsert(conn, MUTES, [dataclasses.asdict(mute)])


def active_mutes(engine: Engine, team: str, now: datetime) -> list[Mute]:
    """The team's mutes still in force at ``now``."""
    query = (
        select(MUTES)
        .where(MUTES.c.team == team, or_(MUTES.c.until.is_(None), MUTES.c.until > now))
        .order_by(MUTES.c.detector)
    )
    with engine.connect() as conn:
        return [
            Mute(r.team, r.detector, r.until, r.created_by, r.created_at)
            for r in conn.execute(query)
        ]


# --- alert channels ---


def save_alert_channel(engine: Engine, channel: AlertChannel) -> None:
    """Switch a team's alerts on or off in a channel."""
    with engine.begin() as conn:
        upsert(conn, ALERT_CHANNELS, [dataclasses.asdict(channel)])


def load_alert_channels(engine: Engine, team: str) -> list[AlertChannel]:
    """The channels where the team's alerts were switched on or off."""
    query = (
        select(ALERT_CHANNELS)
        .where(ALERT_CHANNELS.c.team == team)
        .order_by(ALERT_CHANNELS.c.channel_id)
    )
    with engine.connect() as conn:
        return [
            AlertChannel(
                team=r.team,
                channel_id=r.channel_id,
                enabled=bool(r.enabled),
                changed_by=r.changed_by,
                changed_at=r.changed_at,
                workspace_id=r.workspace_id,
            )
            for r in conn.execute(query)
        ]


# --- which teams a channel follows ---


def teams_followed_in(engine: Engine, channel_id: str) -> set[str]:
    """Teams whose digests are subscribed or whose alerts are switched on in the channel."""
    subscribed = select(SUBSCRIPTIONS.c.team).where(SUBSCRIPTIONS.c.channel_id == channel_id)
    alerted = select(ALERT_CHANNELS.c.team).where(
        ALERT_CHANNELS.c.channel_id == channel_id, ALERT_CHANNELS.c.enabled.is_(True)
    )
    with engine.connect() as conn:
        return {*conn.execute(subscribed).scalars(), *conn.execute(alerted).scalars()}
