"""The scheduled work: sync then alert, and post a digest. The scheduler only calls these.

Where a team's messages go: its app.yaml ``channel`` (unless ``/vsm alerts off`` was said there)
plus every channel where ``/vsm alerts on`` was said. In multi-workspace (OAuth) mode the
workspace of a channel is the one it was configured from in Slack.

A job never raises: a digest that could not be posted is marked failed (and retried by a later
run), setup problems are told to the admins once a day, and passing ones are logged
(:mod:`bot.slack.delivering.problems`). Admin messages go through the same once-only path as digests
(:mod:`bot.slack.delivering.sends`).

The periodic sync is also the webhooks' reconciliation: for a source with webhooks, whatever it
stores as new or updated is what the webhooks missed (a webhook's own sync would have stored it
first), recorded in the source's webhook health for ``/vsm status``. A source whose webhooks have
been silent for :data:`WEBHOOK_SILENCE` while the reconciliation keeps finding what they missed
has stopped webhooks: the admins are told once, and again only after webhooks came back and
stopped again. Nothing else changes: the periodic sync never stopped, at its usual interval.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.config import TeamConfig
from bot.slack.answering.blocks import Message, escape, section, slack_date
from bot.slack.delivering.alerts import AlertRun, alert_admins, deliver_alerts
from bot.slack.delivering.client import NoTokenError
from bot.slack.delivering.digests import DigestKind, Later, SendOutcome, send_digest
from bot.slack.delivering.poster import UncertainPost
from bot.slack.delivering.problems import ChannelNotVisible, classify, database_busy
from bot.slack.delivering.sends import dm_admins_once
from bot.slack.deps import SlackDeps
from bot.sync import SyncResult, sync_teams
from bot.webhooks.setup import team_webhooks
from storage.alert_messages import shown_findings
from storage.health import load_health
from storage.sends import STALE_CLAIM
from storage.slack_settings import load_alert_channels, load_subscriptions
from storage.webhooks import (
    WebhookHealth,
    load_webhook_health,
    mark_fallback_told,
    record_reconciliation,
)

log = logging.getLogger(__name__)
SEND_KIND_CHARS = 100
"""The length of a send's ``kind`` column."""
WEBHOOK_SILENCE = timedelta(hours=24)
"""How long a source's webhooks may be silent, while the reconciliation finds changes they
missed, before they count as stopped."""


@dataclass(frozen=True)
class Target:
    """A channel to post in and the workspace it belongs to (None: the only one)."""

    channel: str
    workspace_id: str | None


def _team_workspace(deps: SlackDeps, team: TeamConfig) -> str | None:
    """The workspace the team was last configured from in Slack (OAuth mode)."""
    for channel in load_alert_channels(deps.runtime.engine, team.name):
        if channel.workspace_id:
            return channel.workspace_id
    for subscription in load_subscriptions(deps.runtime.engine, team.name):
        if subscription.workspace_id:
            return subscription.workspace_id
    return None


def alert_targets(deps: SlackDeps, team: TeamConfig) -> list[Target]:
    """The channels that receive the team's alerts."""
    switched = load_alert_channels(deps.runtime.engine, team.name)
    off = {c.channel_id for c in switched if not c.enabled}
    targets = [Target(c.channel_id, c.workspace_id) for c in switched if c.enabled]
    if team.channel is not None:
        workspace = _team_workspace(deps, team)
        try:
            channel_id = deps.channels.resolve(deps.clients.client(workspace), team.channel)
        except NoTokenError as exc:
            log.warning("alerts of %s: %s", team.name, exc)
            channel_id = None
        if channel_id is None:
            log.warning("channel %s of team %s is not visible to the bot", team.channel, team.name)
        elif channel_id not in off and all(t.channel != channel_id for t in targets):
            targets.insert(0, Target(channel_id, workspace))
    return targets


def alert_team(deps: SlackDeps, team: TeamConfig) -> list[AlertRun]:
    """Run the detectors for ``team`` and bring every alert channel up to date.

    One card per subject: the detectors' findings merged (:meth:`Answers.subjects
    <bot.slack.answering.answers.Answers.subjects>`), each naming who can act. The detectors see
    what the cards show now (:func:`~storage.alert_messages.shown_findings`), so one that
    remembers what it said (``scope_at_risk``) leaves its card alone until it has news.
    """
    now = deps.now()
    shown = shown_findings(deps.runtime.engine, team.name)
    subjects = deps.answers.subjects(team, now, shown)
    runs = []
    for target in alert_targets(deps, team):
        poster = deps.poster(deps.clients.client(target.workspace_id))
        people = deps.people(target.workspace_id)
        runs.append(
            deliver_alerts(
                deps.runtime.engine,
                poster,
                team,
                target.channel,
                subjects,
                now,
                deps.policy,
                people=people,
            )
        )
    return runs


def sync_and_alert(deps: SlackDeps) -> None:
    """The periodic job: sync every source, then alert each team and tell admins of failures.

    The sync is the webhooks' reconciliation (:func:`watch_webhooks`).
    """
    watch_webhooks(deps, sync_teams(deps.runtime))
    for team in deps.runtime.config.teams:
        try:
            alert_team(deps, team)
        except Exception:
            log.exception("alerts of %s failed", team.name)
    config = deps.runtime.config
    if not config.slack.admins and not any(t.admins for t in config.teams):
        return
    try:
        poster = deps.poster(deps.clients.client(None))
    except NoTokenError as exc:
        log.warning("cannot tell the admins about sync problems: %s", exc)
        return
    health = load_health(deps.runtime.engine)
    alert_admins(deps.runtime.engine, poster, config, health, deps.now(), deps.policy)


def watch_webhooks(deps: SlackDeps, results: Sequence[SyncResult]) -> None:
    """Tell the admins of webhooks that stopped, then record what this pull found they missed.

    Whether webhooks stopped is judged on the previous reconciliation, so a change this pull
    stored a moment before its webhook arrived is not taken for a stop. Never raises.
    """
    engine = deps.runtime.engine
    now = deps.now()
    try:
        health = load_webhook_health(engine)
        watched: dict[str, WebhookHealth | None] = {}
        for team in deps.runtime.config.teams:
            webhooks = team_webhooks(team, health)
            watched.update(webhooks)
            tell_stopped_webhooks(deps, team, webhooks, now)
        for result in results:
            seen = watched.get(result.source_key)
            if result.error is None and seen is not None and seen.last_received_at is not None:
                missed = result.counts.new + result.counts.updated
                record_reconciliation(engine, result.source_key, missed, now)
    except Exception:
        log.exception("the webhooks' health could not be updated")


def webhooks_stopped(
    health: WebhookHealth, now: datetime, silence: timedelta = WEBHOOK_SILENCE
) -> bool:
    """Whether a source's webhooks stopped and the admins were not told since they last came.

    Stopped: silent for longer than ``silence`` after having come, while the reconciliation
    since the last one found changes they missed.
    """
    last = health.last_received_at
    return (
        last is not None
        and now - last > silence
        and health.missed_records > 0
        and health.reconciled_at is not None
        and health.reconciled_at > last
        and (health.fallback_told_at is None or health.fallback_told_at < last)
    )


def tell_stopped_webhooks(
    deps: SlackDeps,
    team: TeamConfig,
    webhooks: Mapping[str, WebhookHealth | None],
    now: datetime,
) -> None:
    """DM the team's admins about each of its sources whose webhooks stopped, once per stop.

    A DM that failed is tried again at the next sync; without admins the stop is logged once.
    """
    for key, health in webhooks.items():
        if health is None or health.last_received_at is None or not webhooks_stopped(health, now):
            continue
        last = health.last_received_at
        text = (
            f":warning: The webhooks of *{escape(key)}* stopped: none since {slack_date(last)}, "
            f"while the scheduled pull found {_changes(health.missed_records)} they missed. "
            "Nothing waits for them: the scheduled pull goes on at its normal interval, so "
            "alerts come at the next sync instead of at once. Check the webhook's recent "
            "deliveries at the vendor and that the bot's public URL answers (`vsm webhooks` "
            "shows the setup)."
        )
        kind = f"webhooks_stopped:{last:%Y%m%dT%H%M%S}:{key}"[:SEND_KIND_CHARS]
        told = tell_admins(deps, team, _team_workspace(deps, team), kind, text)
        if told or not has_admins(deps, team):
            mark_fallback_told(deps.runtime.engine, key, now)


def _changes(count: int) -> str:
    return f"{count} change" if count == 1 else f"{count} changes"


def post_digest(
    deps: SlackDeps,
    team_name: str,
    channel: str,
    workspace_id: str | None,
    kind: DigestKind,
    *,
    period: str | None = None,
    retry_after: timedelta = timedelta(0),
    stale_after: timedelta = STALE_CLAIM,
    later: Later | None = None,
) -> SendOutcome | Literal["failed"]:
    """The digest job: post ``kind`` for the team in ``channel`` (a name or an id) once.

    Never raises: a failure is marked on the send (retried by a later run) and reported.
    ``later`` runs the chart upload (at once when None).
    """
    team = deps.runtime.config.team(team_name)
    workspace = workspace_id or _team_workspace(deps, team)
    now = deps.now()
    try:
        client = deps.clients.client(workspace)
        channel_id = deps.channels.resolve(client, channel)
        if channel_id is None:
            raise ChannelNotVisible(channel)
        return send_digest(
            deps.runtime.engine,
            deps.answers,
            deps.poster(client),
            team,
            channel_id,
            kind,
            now,
            period=period,
            retry_after=retry_after,
            stale_after=stale_after,
            later=later,
            people=deps.people(workspace),
        )
    except Exception as exc:
        report_failure(deps, team, channel, workspace, f"{kind} digest", exc)
        return "failed"


def report_failure(
    deps: SlackDeps,
    team: TeamConfig,
    channel: str,
    workspace_id: str | None,
    what: str,
    exc: Exception,
) -> None:
    """Log a failed post, and tell the admins (once a day) when someone has to fix something."""
    if isinstance(exc, UncertainPost):
        log.warning(
            "the %s of %s in %s: %s; it is looked for before it is posted again",
            what,
            team.name,
            channel,
            exc,
        )
        exc = exc.cause
    busy = database_busy(exc, deps.runtime.engine)
    if busy is not None:
        log.warning("the %s of %s in %s waits: %s", what, team.name, channel, busy)
        return
    problem = classify(exc, channel)
    if problem is None:
        log.error("the %s of %s in %s failed", what, team.name, channel, exc_info=exc)
        return
    level = logging.ERROR if problem.setup else logging.WARNING
    log.log(
        level,
        "the %s of %s in %s was not posted (%s): %s",
        what,
        team.name,
        channel,
        problem.error,
        problem.advice,
    )
    if not problem.setup:
        return
    text = (
        f":warning: The {what} of *{team.name}* could not be posted in {escape(channel)} "
        f"(`{problem.error}`). {escape(problem.advice)}. I will try again."
    )
    kind = f"admin_slack:{problem.error}:{channel}"[:SEND_KIND_CHARS]
    tell_admins(deps, team, workspace_id, kind, text)


def has_admins(deps: SlackDeps, team: TeamConfig) -> bool:
    """Whether anyone administers the team (``slack.admins`` or the team's ``admins``)."""
    return bool(deps.runtime.config.slack.admins or team.admins)


def tell_admins(
    deps: SlackDeps, team: TeamConfig, workspace_id: str | None, kind: str, text: str
) -> int:
    """DM ``text`` (mrkdwn) to the team's admins once a day per ``kind``; return how many.

    Without admins it is logged instead.
    """
    admins = [*deps.runtime.config.slack.admins, *team.admins]
    if not admins:
        log.warning("no admins to tell about %s of %s (set slack.admins)", kind, team.name)
        return 0
    try:
        poster = deps.poster(deps.clients.client(workspace_id))
    except NoTokenError as exc:
        log.error("could not tell the admins about %s: %s", kind, exc)
        return 0
    message = Message(text=text, blocks=[section(text)])
    return dm_admins_once(deps.runtime.engine, poster, team, admins, kind, message, deps.now())
