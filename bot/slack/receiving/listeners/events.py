"""Events: publish the viewer's own App Home when they open the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.answering.home import publish_home, viewer_teams
from bot.slack.answering.render_me import my_work
from bot.slack.deps import SlackDeps


def publish_viewer_home(
    deps: SlackDeps, client: WebClient, user_id: str, workspace_id: str | None
) -> None:
    """The viewer's teams (channels they are in, data that names them) and what needs them."""
    now = deps.now()
    teams = deps.runtime.config.teams
    work = my_work(deps.answers, deps.people(workspace_id), teams, user_id, now)
    member_of = deps.viewers.of(client, user_id, now)
    theirs = viewer_teams(
        deps.runtime.engine,
        teams,
        member_of,
        work.teams,
        lambda channel: deps.channels.resolve(client, channel),
    )
    publish_home(deps.answers, client, user_id, theirs, work, now)


def register(app: App, deps: SlackDeps) -> None:
    """Register the events the manifest subscribes to."""

    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        deps.run_later(publish_viewer_home, deps, client, event["user"], body.get("team_id"))

    app.event(ids.APP_HOME_OPENED)(on_home_opened)
