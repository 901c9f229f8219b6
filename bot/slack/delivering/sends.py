"""Sends posted exactly once: claimed in the database, and keyed in Slack by message metadata.

Every digest, overflow summary and admin message is claimed under its :class:`SendKey` first
(:mod:`storage.sends`), then posted through :meth:`Poster.post_once` with the key as message
metadata. A post whose answer was lost, or a send taken over from a process that died while
posting, is looked for in the channel before it is posted again; so a retry, a takeover or a
second process neither posts it twice nor drops it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.slack.answering.blocks import Message
from bot.slack.delivering.poster import Poster, UncertainPost
from bot.slack.delivering.problems import classify
from storage.sends import (
    SENT,
    Claim,
    SendKey,
    begin_posting,
    claim_send,
    fail_send,
    finish_send,
    mark_unknown,
)

log = logging.getLogger(__name__)


def post_claimed(
    engine: Engine,
    poster: Poster,
    claim: Claim,
    channel: str,
    message: Message,
    now: datetime,
) -> str | None:
    """Post the claimed send in ``channel``; its ts, or None when another process took it over.

    On failure the send is marked ``failed`` (Slack refused it, or the channel was seen without
    it) or ``unknown`` (it may have reached Slack: the next attempt looks first), and the error
    is raised.
    """
    if not begin_posting(engine, claim):
        log.warning(
            "the %s of %s was taken over by another process", claim.key.kind, claim.key.team
        )
        return None
    try:
        ts = poster.post_once(
            channel,
            message,
            dataclasses.asdict(claim.key),
            claim.unsure_since or claim.at,
            look_first=claim.unsure_since is not None,
        )
    except UncertainPost:
        mark_unknown(engine, claim)
        raise
    except Exception:
        fail_send(engine, claim)
        raise
    except BaseException:
        mark_unknown(engine, claim)
        raise
    if not finish_send(engine, claim, SENT, ts, now):
        log.error(
            "the %s of %s was taken over while it was being posted: it may be in %s twice",
            claim.key.kind,
            claim.key.team,
            channel,
        )
    return ts


def send_once(
    engine: Engine,
    poster: Poster,
    key: SendKey,
    message: Message,
    now: datetime,
    channel: Callable[[], str],
) -> str | None:
    """Claim and post ``message`` under ``key`` in the channel ``channel()`` names; its ts.

    None when it is already sent or in progress elsewhere; a failure is raised (and the send is
    claimed again at the next call).
    """
    claim = claim_send(engine, key, now)
    if claim is None:
        return None
    try:
        where = channel()
    except Exception:
        fail_send(engine, claim)
        raise
    return post_claimed(engine, poster, claim, where, message, now)


def dm_admins_once(
    engine: Engine,
    poster: Poster,
    team: TeamConfig,
    admins: Iterable[str],
    kind: str,
    message: Message,
    now: datetime,
) -> int:
    """DM ``message`` to each admin once a day (the team's day) per ``kind``; return how many.

    An admin who cannot be told is logged with the reason, and the others are still told.
    """
    period = now.astimezone(team.zone).date().isoformat()
    told = 0
    for admin in dict.fromkeys(admins):
        key = SendKey(team.name, admin, kind, period)
        try:
            ts = send_once(engine, poster, key, message, now, partial(poster.open_dm, admin))
        except Exception as exc:
            problem = classify(exc.cause if isinstance(exc, UncertainPost) else exc, admin)
            reason = problem.advice if problem is not None else repr(exc)
            log.error("could not tell admin %s about %s: %s", admin, kind, reason)
            continue
        told += ts is not None
    return told
