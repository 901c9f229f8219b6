"""Which team a Slack request is about, and who may change the bot's settings."""

from __future__ import annotations

from bot.config import AppConfig, TeamConfig


def team_for_channel(
    config: AppConfig, channel_id: str, channel_name: str | None
) -> TeamConfig | None:
    """The team whose app.yaml ``channel`` is this channel (by id or by name)."""
    name = (channel_name or "").lower()
    for team in config.teams:
        if team.channel is None:
            continue
        configured = team.channel.lstrip("#")
        if configured == channel_id or (name and configured.lower() == name):
            return team
    return None


def choose_team(
    config: AppConfig, explicit: str | None, channel_id: str, channel_name: str | None
) -> TeamConfig | str:
    """The team named in the command, else the channel's team, else the only team.

    Returns a sentence for the user when no team can be chosen.
    """
    if explicit is not None:
        return config.team(explicit)
    mapped = team_for_channel(config, channel_id, channel_name)
    if mapped is not None:
        return mapped
    if len(config.teams) == 1:
        return config.teams[0]
    names = ", ".join(f"`{t.name}`" for t in config.teams)
    return f"This channel belongs to no team in app.yaml, so name one: {names}."


def is_admin(config: AppConfig, team: TeamConfig, user_id: str) -> bool:
    """True when ``user_id`` is named under ``slack.admins`` or the team's ``admins``."""
    return user_id in config.slack.admins or user_id in team.admins


def refusal(user_id: str) -> str:
    """The polite answer to someone who is not an admin."""
    return (
        "Only the admins named in app.yaml can change digests, alerts and mutes. "
        f"Ask whoever runs vsm-bot to add your Slack user id `{user_id}` under `slack.admins` "
        "(or the team's `admins`)."
    )
