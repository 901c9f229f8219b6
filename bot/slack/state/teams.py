"""Which team a Slack request is about, who may see it there, and who may change settings.

A channel sees only the teams mapped to it: the team whose app.yaml ``channel`` it is, and the
teams whose digests were subscribed or whose alerts were switched on there. Naming another team
in it gets a refusal, and so does naming any team in a channel mapped to none (a direct message,
a random channel), unless the deployment has a single team. Admins may name any team anywhere:
they set up the mappings.
"""

from __future__ import annotations

from collections.abc import Collection

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


def channel_teams(
    config: AppConfig, channel_id: str, channel_name: str | None, followed: Collection[str]
) -> list[TeamConfig]:
    """The teams mapped to a channel: its app.yaml team, then those ``followed`` there."""
    mapped = team_for_channel(config, channel_id, channel_name)
    teams = [mapped] if mapped is not None else []
    teams += [t for t in config.teams if t.name in followed and t is not mapped]
    return teams


def choose_team(
    config: AppConfig, explicit: str | None, mapped: list[TeamConfig], user_id: str
) -> TeamConfig | str:
    """The team named in the command or the channel's team, if this channel may see it.

    ``mapped`` are the channel's teams (:func:`channel_teams`). Returns a sentence for the user
    when no team can be chosen or the team is not for this channel.
    """
    if explicit is not None:
        team = config.team(explicit)
        if team in mapped or len(config.teams) == 1 or is_admin(config, team, user_id):
            return team
        return not_here(config, team, mapped)
    if len(mapped) == 1:
        return mapped[0]
    if mapped:
        names = ", ".join(f"`{t.name}`" for t in mapped)
        return f"This channel follows several teams, so name one: {names}."
    if len(config.teams) == 1:
        return config.teams[0]
    if user_id in config.slack.admins:
        names = ", ".join(f"`{t.name}`" for t in config.teams)
        return f"This channel belongs to no team in app.yaml, so name one: {names}."
    return not_here(config, None, mapped)


def not_here(config: AppConfig, team: TeamConfig | None, mapped: list[TeamConfig]) -> str:
    """The refusal for a team this channel may not see, saying where to ask instead."""
    if mapped:
        first = f"This channel shows {', '.join(t.name for t in mapped)} only."
    else:
        first = "This channel is not mapped to any team, so it shows no team's data."
    where = f" ({team.name}: {team.channel})" if team is not None and team.channel else ""
    return f"{first} Ask in the team's own channel{where}, or ask an admin to map this channel."


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
