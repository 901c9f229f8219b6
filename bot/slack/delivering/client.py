"""Web API clients: every one on the configured ``slack.api_url`` with the retry handlers.

Every :class:`~slack_sdk.WebClient` the bot builds points at the configured ``slack.api_url`` and
carries slack_sdk's rate-limit, server-error and connection retry handlers
(:mod:`bot.slack.delivering.pacing`). :class:`SlackClients` finds the bot token for background
work: the configured one, or the workspace's OAuth installation.
"""

from __future__ import annotations

import time

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

from bot.config import SlackConfig
from bot.slack.delivering.pacing import ChannelPacer, Sleep, retry_handlers


def api_base_url(url: str) -> str:
    """The Web API base URL as slack_sdk wants it (with a trailing slash)."""
    return url if url.endswith("/") else url + "/"


def make_client(
    api_url: str,
    token: str | None,
    sleep: Sleep = time.sleep,
    pacer: ChannelPacer | None = None,
) -> WebClient:
    """A WebClient on ``api_url`` with the retry handlers."""
    return WebClient(
        token=token,
        base_url=api_base_url(api_url),
        timeout=30,
        retry_handlers=retry_handlers(sleep, pacer),
    )


class NoTokenError(RuntimeError):
    """No bot token is known for the workspace; the message says how to get one."""


class SlackClients:
    """Builds clients for background work: the configured bot token, or the OAuth installation."""

    def __init__(
        self,
        config: SlackConfig,
        sleep: Sleep = time.sleep,
        installation_store: InstallationStore | None = None,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.installation_store = installation_store
        self.pacer = pacer

    def client(self, workspace_id: str | None = None) -> WebClient:
        """A client with a bot token for ``workspace_id`` (any, in single-workspace mode)."""
        return make_client(self.config.api_url, self.token(workspace_id), self.sleep, self.pacer)

    def token(self, workspace_id: str | None) -> str:
        """The bot token to use for ``workspace_id``."""
        if self.config.bot_token is not None:
            return self.config.bot_token.get_secret_value()
        if self.installation_store is not None and workspace_id is not None:
            bot = self.installation_store.find_bot(enterprise_id=None, team_id=workspace_id)
            if bot is not None and bot.bot_token:
                return str(bot.bot_token)
        raise NoTokenError(
            f"no bot token for Slack workspace {workspace_id or '(unknown)'}: set "
            "SLACK_BOT_TOKEN, or install the app through /slack/install and run a /vsm "
            "command in the team's channel once"
        )
