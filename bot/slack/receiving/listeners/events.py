"""Events: publish the App Home overview when someone opens the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.answering.home import publish_home
from bot.slack.deps import SlackDeps


def register(app: App, deps: SlackDeps) -> None:
    """Register the events the manifest subscribes to."""

    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        teams = list(deps.runtime.config.teams)
        deps.run_later(publish_home, deps.answers, client, event["user"], teams, deps.now())

    app.event(ids.APP_HOME_OPENED)(on_home_opened)
