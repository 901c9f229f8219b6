"""Scheduled digests: build, claim, post once, and put the chart in the digest's thread.

A send is claimed under ``(team, channel, kind, period)`` before anything is built, so a job
that runs twice, a retry after a crash, or a second bot process never posts the same digest
twice. The claim says ``posting`` just before the request goes to Slack and ``sent`` (with the
message's ts) once Slack answered; a post that failed is marked ``failed`` and claimed again by
a later run (see :mod:`storage.bot_state`). A digest with nothing to say is recorded as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.slack.answers import Answers, today
from bot.slack.blocks import Message
from bot.slack.client import Poster
from bot.slack.render_digest import FORECAST_ITEMS, render_daily, render_weekly
from storage.bot_state import (
    SENT,
    SKIPPED,
    STALE_CLAIM,
    SendKey,
    begin_posting,
    claim_send,
    fail_send,
    finish_send,
)

log = logging.getLogger(__name__)
DigestKind = Literal["daily", "weekly"]
SendOutcome = Literal["sent", "skipped", "already sent"]
"""``already sent``: sent, skipped, in progress elsewhere, or failed too recently to retry."""
CHARTS: dict[DigestKind, str] = {"daily": "aging", "weekly": "throughput"}


def digest_period(kind: DigestKind, team: TeamConfig, now: datetime) -> str:
    """The period a digest covers in the team's time zone: ``2026-11-25`` or ``2026-W48``."""
    day = today(team, now)
    if kind == "daily":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_digest_message(
    answers: Answers, team: TeamConfig, kind: DigestKind, now: datetime
) -> Message | None:
    """The digest message, or None when there is nothing to say."""
    findings = answers.findings(team, now)
    if kind == "daily":
        return render_daily(team.name, today(team, now), answers.digest(team, now), findings)
    basis = answers.forecast_basis(team, now)
    return render_weekly(
        team.name,
        today(team, now),
        now,
        answers.weekly_trends(team, now),
        answers.dora(team, now, window_days=7),
        basis.when(FORECAST_ITEMS),
        basis,
        findings,
    )


Later = Callable[..., object]
"""Runs ``work(*args)``, now or in some pool."""


def _now(work: Callable[..., object], *args: object) -> None:
    work(*args)


def digest_key(
    team: TeamConfig, channel: str, kind: DigestKind, now: datetime, period: str | None = None
) -> SendKey:
    """The send key of the team's ``kind`` digest in ``channel`` (for ``now``'s period)."""
    return SendKey(team.name, channel, f"digest_{kind}", period or digest_period(kind, team, now))


def send_digest(
    engine: Engine,
    answers: Answers,
    poster: Poster,
    team: TeamConfig,
    channel: str,
    kind: DigestKind,
    now: datetime,
    *,
    period: str | None = None,
    retry_after: timedelta = timedelta(0),
    stale_after: timedelta = STALE_CLAIM,
    later: Later | None = None,
) -> SendOutcome:
    """Post the team's ``kind`` digest in ``channel`` once per period; the chart in its thread.

    ``period`` defaults to the one ``now`` falls in. A failed post raises after marking the send
    failed; it is claimed again once ``retry_after`` has passed. The chart is drawn and uploaded
    through ``later`` (at once by default; the scheduler hands it to a pool, so the next digest
    need not wait for this one's chart).
    """
    key = digest_key(team, channel, kind, now, period)
    if not claim_send(engine, key, now, retry_after=retry_after, stale_after=stale_after):
        return "already sent"
    try:
        message = build_digest_message(answers, team, kind, now)
        if message is None:
            finish_send(engine, key, SKIPPED, None, now)
            return "skipped"
        if not begin_posting(engine, key, now):
            log.warning("the %s digest of %s was taken over by another process", kind, team.name)
            return "already sent"
        ts = poster.post(channel, message)
    except BaseException:
        fail_send(engine, key)
        raise
    finish_send(engine, key, SENT, ts, now)
    (later or _now)(_upload_chart, answers, poster, team, channel, kind, now, ts)
    return "sent"


def _upload_chart(
    answers: Answers,
    poster: Poster,
    team: TeamConfig,
    channel: str,
    kind: DigestKind,
    now: datetime,
    thread_ts: str,
) -> None:
    """The digest is out; a chart that fails is logged, never a reason to post again."""
    try:
        chart = answers.chart(team, CHARTS[kind], now)
        poster.upload_chart(channel, chart, thread_ts=thread_ts, comment=chart.title)
    except Exception:
        log.exception("could not upload the chart of the %s digest of %s", kind, team.name)
