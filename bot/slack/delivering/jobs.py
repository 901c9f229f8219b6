"""The scheduled work: sync then alert, and post a digest. The scheduler only calls these.

Where a team's messages go: its app.yaml ``channel`` (unless ``/vsm alerts off`` was said there)
plus every channel where ``/vsm alerts on`` was said. In multi-workspace (OAuth) mode the
workspace of a channel is the one it was configured from in Slack.

A job never raises: a digest that could not be posted is marked failed (and retried by a later
run), setup problems are told to the admins once a day, and passing ones are logged
(:mod:`bot.slack.delivering.problems`). Admin messages go through the same once-only path as digests
(:mod:`bot.slack.delivering.sends`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.config import TeamConfig
from bot.slack.answering.blocks import Message, escape, section
from bot.slack.delivering.alerts import AlertRun, alert_admins, deliver_alerts
from bot.slack.delivering.client import NoTokenError
from bot.slack.delivering.digests import DigestKind, Later, SendOutcome, send_digest
from bot.slack.delivering.poster import UncertainPost
from bot.slack.delivering.problems import ChannelNotVisible, classify, database_busy
from bot.slack.delivering.sends import dm_admins_once
from bot.slack.deps import SlackDeps
from bot.sync import sync_teams
from storage.health import load_health
from storage.sends import STALE_CLAIM
from storage.slack_settings import load_alert_channels, load_subscriptions

log = logging.getLogger(__name__)
SEND_KIND_CHARS = 100
"""The length of a send's ``kind`` column."""


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
    <bot.slack.answering.answers.Answers.subjects>`), each naming who can act.
    """
    now = deps.now()
    subjects = deps.answers.subjects(team, now)
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
    """The periodic job: sync every source, then alert each team and tell admins of failures."""
    sync_teams(deps.runtime)
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


def tell_admins(
    deps: SlackDeps, team: TeamConfig, workspace_id: str | None, kind: str, text: str
) -> int:
    """DM ``text`` (mrkdwn) to the team's admins once a day per ``kind``; return how many."""
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
