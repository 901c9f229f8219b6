"""Scheduled digests: build, claim, post once, and put the chart in the digest's thread.

A send is claimed under ``(team, channel, kind, period)`` before anything is built, so a job
that runs twice, a retry after a crash, or a second bot process never posts the same digest
twice; the post carries that key as message metadata, so a post whose answer was lost, or one
taken over from a process that died while posting, is looked for in the channel before it is
posted again (:mod:`bot.slack.delivering.sends`). A digest with nothing to say is recorded as
skipped; one due before the team's first sync waits for it (it is not claimed, so a later run
posts it). The daily says what changed since the last daily sent in the channel: the instant is
read from the sends, and the subjects then are the detectors' on the data as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.people import People
from bot.slack.answering.answers import Answers, today
from bot.slack.answering.blocks import Message
from bot.slack.answering.render_digest import (
    FLOW_WINDOW_DAYS,
    FORECAST_ITEMS,
    render_daily,
    render_weekly,
)
from bot.slack.delivering.poster import Poster
from bot.slack.delivering.sends import post_claimed
from bot.sync import source_key
from insights.detectors.value_stream import NAME as VALUE_STREAM
from insights.findings import Finding
from storage.health import load_health
from storage.sends import (
    SENT,
    SKIPPED,
    STALE_CLAIM,
    SendKey,
    claim_send,
    fail_send,
    finish_send,
    load_send,
)

log = logging.getLogger(__name__)
DigestKind = Literal["daily", "weekly"]
SendOutcome = Literal["sent", "skipped", "already sent", "waiting"]
"""``already sent``: sent, skipped, in progress elsewhere, or failed too recently to retry;
``waiting``: the team's first sync has not finished yet."""
CHARTS: dict[DigestKind, str] = {"daily": "aging", "weekly": "throughput"}
LOOK_BACK = 7
"""Earlier periods searched for the last digest sent."""


def digest_period(kind: DigestKind, team: TeamConfig, now: datetime) -> str:
    """The period a digest covers in the team's time zone: ``2026-11-25`` or ``2026-W48``."""
    day = today(team, now)
    if kind == "daily":
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_digest_message(
    answers: Answers,
    team: TeamConfig,
    kind: DigestKind,
    now: datetime,
    *,
    people: People | None = None,
    since: datetime | None = None,
) -> Message | None:
    """The digest message, or None when there is nothing to say.

    ``people`` words who can act in the daily's focus lines; ``since`` is when the last daily
    digest went out (a day before ``now`` when unknown).
    """
    if kind == "daily":
        since = since if since is not None and since < now else now - timedelta(days=1)
        window = FLOW_WINDOW_DAYS
        report = answers.report(team, now, window_days=window)
        return render_daily(
            team,
            now,
            report,
            answers.report(team, now - timedelta(days=window), window_days=window),
            answers.changes_since(team, since, now, report.subjects),
            people or People(()),
        )
    basis = answers.forecast_basis(team, now)
    return render_weekly(
        team.name,
        today(team, now),
        now,
        answers.weekly_series(team, now),
        answers.bottleneck(team, now),
        basis.when(FORECAST_ITEMS),
        basis,
        where_time_goes=_where_time_goes(answers.report(team, now).findings),
    )


def _where_time_goes(findings: Sequence[Finding]) -> Finding | None:
    """The value stream's hotspot finding, if the detector found one (and is not muted)."""
    return next((f for f in findings if f.detector == VALUE_STREAM), None)


def last_digest_at(
    engine: Engine, team: TeamConfig, channel: str, kind: DigestKind, now: datetime
) -> datetime | None:
    """When the last ``kind`` digest before ``now``'s period was posted in ``channel``.

    Looks back over up to :data:`LOOK_BACK` earlier periods for one that was sent (a skipped
    digest was never read, so what changed since then is still news).
    """
    step = timedelta(days=1) if kind == "daily" else timedelta(weeks=1)
    for n in range(1, LOOK_BACK + 1):
        record = load_send(engine, digest_key(team, channel, kind, now - n * step))
        if record is not None and record.state == SENT and record.sent_at is not None:
            return record.sent_at if record.sent_at < now else None
    return None


Later = Callable[..., object]
"""Runs ``work(*args)``, now or in some pool."""


def _now(work: Callable[..., object], *args: object) -> None:
    work(*args)


def first_sync_done(engine: Engine, team: TeamConfig) -> bool:
    """True once every source of the team has been synced (or tried) at least once."""
    tried = {h.source_key for h in load_health(engine, team.name) if h.last_attempt_at}
    return all(source_key(team, config) in tried for config in team.source_configs())


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
    people: People | None = None,
) -> SendOutcome:
    """Post the team's ``kind`` digest in ``channel`` once per period; the chart in its thread.

    ``period`` defaults to the one ``now`` falls in. A failed post raises after marking the send
    (see :func:`~bot.slack.delivering.sends.post_claimed`); it is claimed again once
    ``retry_after`` has passed. The chart is drawn and uploaded through ``later`` (at once by
    default; the scheduler hands it to a pool, so the next digest need not wait for this one's
    chart). ``people`` maps who can act to Slack users (nobody is mapped without it). The daily
    says what changed since the last digest sent in ``channel`` (:func:`last_digest_at`).
    """
    if not first_sync_done(engine, team):
        return "waiting"
    key = digest_key(team, channel, kind, now, period)
    claim = claim_send(engine, key, now, retry_after=retry_after, stale_after=stale_after)
    if claim is None:
        return "already sent"
    try:
        since = last_digest_at(engine, team, channel, kind, now) if kind == "daily" else None
        message = build_digest_message(answers, team, kind, now, people=people, since=since)
    except BaseException:
        fail_send(engine, claim)
        raise
    if message is None:
        finish_send(engine, claim, SKIPPED, None, now)
        return "skipped"
    ts = post_claimed(engine, poster, claim, channel, message, now)
    if ts is None:
        return "already sent"
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
