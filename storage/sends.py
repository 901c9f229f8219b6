"""Claimed sends: each digest, alert and DM is claimed under a unique key before it is posted.

A send is *claimed* under its key before it is posted, so a retried job, a restart or a second
process never posts twice.

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

from sqlalchemy import Connection, Engine, Table, and_, func, or_, select, update

from storage.db import conflict_insert
from storage.tables import SendRow

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


def _send_match(key: SendKey) -> Any:
    return and_(
        SENDS.c.team == key.team,
        SENDS.c.channel_id == key.channel_id,
        SENDS.c.kind == key.kind,
        SENDS.c.period == key.period,
    )


def _insert_new(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its key exists (no error, no server log); True when inserted."""
    statement = conflict_insert(conn, SENDS).on_conflict_do_nothing(
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
