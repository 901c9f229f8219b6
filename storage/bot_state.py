"""The Slack bot's persistent state: subscriptions, mutes, alert channels, alert messages, sends.

Everything a person changes in Slack lives here (app.yaml stays declarative), and so does every
message the bot posted that it may need to update later. Sends are *claimed* under a unique key
before they are posted, so a retried job, a restart or a second process never posts twice.

A send moves ``claimed`` (a process is building it) -> ``posting`` (the request is on its way)
-> ``sent`` (or ``skipped`` when there was nothing to say). Each claim is an *attempt* with an id
of its own: only the current attempt may begin posting, so a process whose claim was taken over
never posts. A post that Slack refused is ``failed``; one that may or may not have reached
Slack (the connection dropped, and looking in the channel failed too) is ``unknown``; both may be
claimed again after a delay. A claim left ``claimed`` or ``posting`` by a process that died (or
stopped making progress) is stale after a while and may be claimed again. Once an attempt has
begun posting, ``unsure_since`` records when: every later attempt looks for the send's key in the
channel from then on before it posts (:class:`Claim.unsure_since`), so nothing is posted twice
and nothing is dropped.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.repository import upsert
from storage.tables import (
    AlertChannelRow,
    AlertMessageRow,
    MuteRow,
    SendRow,
    SubscriptionRow,
)

SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
MUTES = cast(Table, MuteRow.__table__)
ALERT_CHANNELS = cast(Table, AlertChannelRow.__table__)
ALERTS = cast(Table, AlertMessageRow.__table__)
SENDS = cast(Table, SendRow.__table__)

CLAIMED = "claimed"
POSTING = "posting"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"
UNKNOWN = "unknown"
STALE_CLAIM = timedelta(minutes=10)
"""A claim still ``claimed`` or ``posting`` after this long was left by a process that died."""


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


@dataclass(frozen=True)
class SendKey:
    """The unique key of one send: a team's ``kind`` for ``period`` in a channel."""

    team: str
    channel_id: str
    kind: str
    period: str


@dataclass(frozen=True)
class Claim:
    """The right to post one send: this attempt's id and time, and what earlier ones left."""

    key: SendKey
    attempt: str
    at: datetime
    unsure_since: datetime | None = None
    """An earlier attempt that began then may have reached Slack: look before posting."""


@dataclass(frozen=True)
class SendRecord:
    """A claimed send and what became of it (see the module docstring for the states)."""

    key: SendKey
    state: str
    ts: str | None
    claimed_at: datetime
    sent_at: datetime | None


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


# --- alert messages ---


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


def count_channel_posts_since(engine: Engine, channel_id: str, since: datetime) -> int:
    """Top-level alert messages posted in the channel since ``since`` (a group counts once)."""
    parent = func.coalesce(ALERTS.c.thread_ts, ALERTS.c.ts)
    query = select(func.count(func.distinct(parent))).where(
        ALERTS.c.channel_id == channel_id, ALERTS.c.posted_at >= since, ALERTS.c.ts.is_not(None)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# --- sends ---


def _send_match(key: SendKey) -> Any:
    return and_(
        SENDS.c.team == key.team,
        SENDS.c.channel_id == key.channel_id,
        SENDS.c.kind == key.kind,
        SENDS.c.period == key.period,
    )


def _insert_new(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its key exists (no error, no server log); True when inserted."""
    table_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = table_insert(SENDS).on_conflict_do_nothing(
        index_elements=["team", "channel_id", "kind", "period"]
    )
    return conn.execute(statement.returning(SENDS.c.id), row).first() is not None


def claim_send(
    engine: Engine,
    key: SendKey,
    now: datetime,
    *,
    retry_after: timedelta = timedelta(0),
    stale_after: timedelta = STALE_CLAIM,
) -> Claim | None:
    """Claim a send; None when it is sent, skipped, in progress, or failed too recently.

    A ``failed`` or ``unknown`` send is claimed again once ``retry_after`` has passed since its
    attempt began, and a ``claimed`` or ``posting`` one once ``stale_after`` has (its process
    died or stopped making progress).
    """
    attempt = uuid.uuid4().hex
    row = {**dataclasses.asdict(key), "state": CLAIMED, "ts": None, "claimed_at": now}
    retry = or_(
        and_(SENDS.c.state.in_((FAILED, UNKNOWN)), SENDS.c.claimed_at <= now - retry_after),
        and_(SENDS.c.state.in_((CLAIMED, POSTING)), SENDS.c.claimed_at <= now - stale_after),
    )
    with engine.begin() as conn:
        if _insert_new(conn, {**row, "attempt": attempt}):
            return Claim(key, attempt, now)
        taken = conn.execute(
            update(SENDS)
            .where(_send_match(key), retry)
            .values(state=CLAIMED, claimed_at=now, sent_at=None, attempt=attempt)
            .returning(SENDS.c.unsure_since)
        ).first()
    return None if taken is None else Claim(key, attempt, now, taken.unsure_since)


def _attempt_match(claim: Claim) -> Any:
    return and_(_send_match(claim.key), SENDS.c.attempt == claim.attempt)


def begin_posting(engine: Engine, claim: Claim) -> bool:
    """Mark the claim as posting; False when another process took it over."""
    with engine.begin() as conn:
        result = conn.execute(
            update(SENDS)
            .where(_attempt_match(claim), SENDS.c.state == CLAIMED)
            .values(state=POSTING, unsure_since=func.coalesce(SENDS.c.unsure_since, claim.at))
        )
        return result.rowcount == 1


def finish_send(engine: Engine, claim: Claim, state: str, ts: str | None, now: datetime) -> bool:
    """Record what became of the claim (``sent`` with the message ts, or ``skipped``).

    A claim taken over meanwhile is still recorded while the new attempt has not begun posting
    (so it never does); False when the new attempt was already posting.
    """
    pending = or_(SENDS.c.attempt == claim.attempt, SENDS.c.state == CLAIMED)
    with engine.begin() as conn:
        result = conn.execute(
            update(SENDS)
            .where(_send_match(claim.key), pending)
            .values(state=state, ts=ts, sent_at=now, unsure_since=None)
        )
        return result.rowcount == 1


def fail_send(engine: Engine, claim: Claim) -> None:
    """The post did not reach Slack (Slack refused it, or the channel was seen without it)."""
    with engine.begin() as conn:
        conn.execute(
            update(SENDS)
            .where(_attempt_match(claim), SENDS.c.state.in_((CLAIMED, POSTING)))
            .values(state=FAILED, unsure_since=None)
        )


def mark_unknown(engine: Engine, claim: Claim) -> None:
    """The post may have reached Slack and nobody could look: the next attempt looks first."""
    with engine.begin() as conn:
        conn.execute(
            update(SENDS)
            .where(_attempt_match(claim), SENDS.c.state.in_((CLAIMED, POSTING)))
            .values(state=UNKNOWN)
        )


def _send_from_row(row: Any) -> SendRecord:
    key = SendKey(row.team, row.channel_id, row.kind, row.period)
    return SendRecord(key, row.state, row.ts, row.claimed_at, row.sent_at)


def load_send(engine: Engine, key: SendKey) -> SendRecord | None:
    """The claimed send under ``key`` (None when nothing was claimed)."""
    with engine.connect() as conn:
        row = conn.execute(select(SENDS).where(_send_match(key))).first()
    return None if row is None else _send_from_row(row)


def load_sends(engine: Engine, kinds: Collection[str] | None = None) -> list[SendRecord]:
    """Every claimed send (of the given kinds), oldest claim first."""
    query = select(SENDS).order_by(SENDS.c.claimed_at, SENDS.c.id)
    if kinds is not None:
        query = query.where(SENDS.c.kind.in_(list(kinds)))
    with engine.connect() as conn:
        return [_send_from_row(r) for r in conn.execute(query)]


# --- which teams a channel follows ---


def teams_followed_in(engine: Engine, channel_id: str) -> set[str]:
    """Teams whose digests are subscribed or whose alerts are switched on in the channel."""
    subscribed = select(SUBSCRIPTIONS.c.team).where(SUBSCRIPTIONS.c.channel_id == channel_id)
    alerted = select(ALERT_CHANNELS.c.team).where(
        ALERT_CHANNELS.c.channel_id == channel_id, ALERT_CHANNELS.c.enabled.is_(True)
    )
    with engine.connect() as conn:
        return {*conn.execute(subscribed).scalars(), *conn.execute(alerted).scalars()}
