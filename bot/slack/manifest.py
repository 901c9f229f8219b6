"""The Slack app manifest, generated from what the code registers (``vsm manifest``).

The slash command, the button action ids and the subscribed events come from
:mod:`bot.slack.ids`, the same names the listeners register, so the manifest cannot drift from
the code. Socket Mode manifests carry no URLs; HTTP ones point every URL at ``/slack/events``.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.slack import ids

APP_NAME = "vsm-bot"
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "channels:read",
    "groups:read",
    "channels:join",
    "im:write",
    "channels:history",
    "groups:history",
    "im:history",
    "users:read",
    "users:read.email",
)
"""What the bot calls: chat.*, files upload v2, conversations.list/join/open,
conversations.history/replies (public, private and DM channels) to look for a post whose answer
was lost before posting it again, users.conversations (a viewer's channels, for their App Home)
and users.lookupByEmail (people matched by e-mail), whose ``users:read.email`` Slack grants only
together with ``users:read``."""


def build_manifest(
    *, socket_mode: bool, public_url: str | None = None, oauth: bool = False
) -> dict[str, Any]:
    """The manifest as data; HTTP mode needs ``public_url`` (``https://bot.example.com``)."""
    if not socket_mode and not public_url:
        raise ValueError("HTTP mode needs the bot's public URL, e.g. https://vsm.example.com")
    events_url = None if socket_mode else f"{str(public_url).rstrip('/')}/slack/events"
    command: dict[str, Any] = {
        "command": ids.COMMAND,
        "description": ids.COMMAND_DESCRIPTION,
        "usage_hint": ids.COMMAND_USAGE_HINT,
        "should_escape": False,
    }
    events: dict[str, Any] = {"bot_events": [*ids.EVENTS, *(ids.OAUTH_EVENTS if oauth else ())]}
    interactivity: dict[str, Any] = {"is_enabled": bool(ids.ACTIONS)}
    oauth_config: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if events_url is not None:
        command["url"] = events_url
        events["request_url"] = events_url
        interactivity["request_url"] = events_url
        if oauth:
            redirect = events_url.removesuffix("/slack/events") + "/slack/oauth_redirect"
            oauth_config["redirect_urls"] = [redirect]
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME,
            "description": "Flow metrics, aging and blocked work, digests and alerts for your team",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": APP_NAME, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(**kwargs: Any) -> str:
    """The manifest as YAML, ready to paste into https://api.slack.com/apps."""
    return yaml.safe_dump(build_manifest(**kwargs), sort_keys=False, allow_unicode=True)
