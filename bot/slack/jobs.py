"""The scheduled work: sync then alert, and post a digest. The scheduler only calls these.

Where a team's messages go: its app.yaml ``channel`` (unless ``/vsm alerts off`` was said there)
plus every channel where ``/vsm alerts on`` was said. In multi-workspace (OAuth) mode the
workspace of a channel is the one it was configured from in Slack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import TeamConfig
from bot.slack.alerts import AlertRun, alert_admins, deliver_alerts
from bot.slack.client import NoTokenError
from bot.slack.deps import SlackDeps
from bot.slack.digests import DigestKind, SendOutcome, send_digest
from bot.sync import sync_teams
from storage.bot_state import load_alert_channels, load_subscriptions
from storage.repository import load_health

log = logging.getLogger(__name__)


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
    """Run the detectors for ``team`` and bring every alert channel up to date."""
    now = deps.now()
    findings = deps.answers.findings(team, now)
    runs = []
    for target in alert_targets(deps, team):
        poster = deps.poster(deps.clients.client(target.workspace_id))
        runs.append(
            deliver_alerts(
                deps.runtime.engine, poster, team, target.channel, findings, now, deps.policy
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
    deps: SlackDeps, team_name: str, channel: str, workspace_id: str | None, kind: DigestKind
) -> SendOutcome | None:
    """The digest job: post ``kind`` for the team in ``channel`` (a name or an id) once."""
    team = deps.runtime.config.team(team_name)
    client = deps.clients.client(workspace_id or _team_workspace(deps, team))
    channel_id = deps.channels.resolve(client, channel)
    if channel_id is None:
        log.warning("no digest for %s: channel %s is not visible to the bot", team_name, channel)
        return None
    return send_digest(
        deps.runtime.engine, deps.answers, deps.poster(client), team, channel_id, kind, deps.now()
    )
