"""Personal DMs: the people an alert card names hear of it directly, if they asked to.

Personal DMs are opt-in (``/vsm me on``, :mod:`storage.people`): when a card is posted, reopened
or escalated to critical, each person it names as able to act (:attr:`Finding.people
<insights.findings.Finding.people>`, mapped to Slack by :class:`~bot.people.People`) who turned
them on gets one short DM: the subject, why, what to do, and the channel holding the card.
Nobody else gets one. The caller sends only inside the team's working hours outside its quiet
hours, like the cards (:func:`bot.slack.delivering.alerts.may_notify`).

Each DM is a once-only send (:mod:`bot.slack.delivering.sends`) keyed by the user, the reason it
is sent (``new``, ``back``, ``critical``), the subject and the team's day: a retry, a second run or
the same subject's card in a second channel never DMs a person twice that day for that reason.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.people import People
from bot.slack.answering.render_alerts import render_personal
from bot.slack.delivering.poster import Poster, UncertainPost
from bot.slack.delivering.problems import classify
from bot.slack.delivering.sends import send_once
from insights.findings import Finding
from storage.alert_messages import AlertRecord
from storage.people import users_with_dms
from storage.sends import SendKey

log = logging.getLogger(__name__)
NEW = "new"
"""The card was just posted."""
BACK = "back"
"""The card was reopened: its subject came back, or its snooze is over."""
CRITICAL = "critical"
"""The card was escalated to critical."""
KIND_CHARS = 100
"""The length of a send's ``kind`` column."""


def dm_key(team: TeamConfig, user_id: str, finding: Finding, why: str, now: datetime) -> SendKey:
    """The once-only key of one person's DM about one subject, for one reason, on one day."""
    day = now.astimezone(team.zone).date().isoformat()
    return SendKey(team.name, user_id, f"alert_dm:{why}:{finding.dedupe_key}"[:KIND_CHARS], day)


def dm_people(
    engine: Engine,
    poster: Poster,
    people: People,
    team: TeamConfig,
    record: AlertRecord,
    finding: Finding,
    why: str,
    now: datetime,
) -> int:
    """DM each person ``finding`` names who opted in, about ``record``'s card; return how many.

    A person who cannot be told is logged with the reason, and the others are still told.
    """
    opted_in = users_with_dms(engine)
    if not opted_in:
        return 0
    users = [u for u in people.slack_users(finding.people) if u in opted_in]
    message = render_personal(finding, record.channel_id, team, now)
    told = 0
    for user in users:
        key = dm_key(team, user, finding, why, now)
        try:
            ts = send_once(engine, poster, key, message, now, partial(poster.open_dm, user))
        except Exception as exc:
            problem = classify(exc.cause if isinstance(exc, UncertainPost) else exc, user)
            reason = problem.advice if problem is not None else repr(exc)
            log.error("could not DM %s about %s: %s", user, finding.dedupe_key, reason)
            continue
        told += ts is not None
    return told
