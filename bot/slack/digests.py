"""Scheduled digests: build, claim, post once, and put the chart in the digest's thread.

A send is claimed under ``(team, channel, kind, period)`` before anything is posted, so a job
that runs twice, a retry after a crash, or a second bot process never posts the same digest
twice. A digest with nothing to say is recorded as skipped and not posted.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.slack.answers import Answers, today
from bot.slack.blocks import Message
from bot.slack.client import Poster
from bot.slack.render_digest import FORECAST_ITEMS, render_daily, render_weekly
from storage.bot_state import SendKey, claim_send, finish_send, release_send

log = logging.getLogger(__name__)
DigestKind = Literal["daily", "weekly"]
SendOutcome = Literal["sent", "skipped", "already sent"]
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
    return render_weekly(
        team.name,
        today(team, now),
        now,
        answers.weekly_trends(team, now),
        answers.dora(team, now, window_days=7),
        answers.forecast_when(team, now, FORECAST_ITEMS),
        findings,
    )


def send_digest(
    engine: Engine,
    answers: Answers,
    poster: Poster,
    team: TeamConfig,
    channel: str,
    kind: DigestKind,
    now: datetime,
) -> SendOutcome:
    """Post the team's ``kind`` digest in ``channel`` once per period; the chart in its thread."""
    key = SendKey(team.name, channel, f"digest_{kind}", digest_period(kind, team, now))
    if not claim_send(engine, key, now):
        return "already sent"
    try:
        message = build_digest_message(answers, team, kind, now)
        if message is None:
            finish_send(engine, key, "skipped", None, now)
            return "skipped"
        ts = poster.post(channel, message)
    except Exception:
        release_send(engine, key)
        raise
    finish_send(engine, key, "sent", ts, now)
    _upload_chart(answers, poster, team, channel, kind, now, ts)
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
