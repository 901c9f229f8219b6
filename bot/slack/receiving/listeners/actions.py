"""Buttons: acknowledge or snooze an alert, open an item, show a whole list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.answering.render import notice
from bot.slack.delivering.alerts import apply_button
from bot.slack.deps import SlackDeps
from bot.slack.receiving.handlers import Invocation, reply, show_all

SNOOZES = {ids.SNOOZE_DAY: timedelta(days=1), ids.SNOOZE_WEEK: timedelta(weeks=1)}


def _invocation(body: dict[str, Any]) -> Invocation:
    channel = body.get("channel") or {}
    return Invocation(
        user_id=body["user"]["id"],
        channel_id=channel.get("id", ""),
        channel_name=channel.get("name"),
        workspace_id=(body.get("team") or {}).get("id"),
    )


def alert_button(
    deps: SlackDeps,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
) -> None:
    """Store the button's effect and show it on the card (runs in the worker pool)."""
    try:
        alert_id = int(action.get("value") or "")
    except ValueError:
        return
    snooze = SNOOZES.get(action["action_id"])
    user = body["user"]["id"]
    changed = apply_button(
        deps.runtime.engine,
        deps.poster(client),
        alert_id,
        user,
        deps.now(),
        snooze,
        people=deps.people((body.get("team") or {}).get("id")),
        teams=deps.runtime.config.teams,
    )
    if changed is None:
        reply(respond, notice("This alert is already resolved (or gone); nothing to do."))


def register(app: App, deps: SlackDeps) -> None:
    """Register every button's action id."""

    def on_alert_button(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        deps.run_later(alert_button, deps, action, body, respond, client)

    def on_open_item(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, we only acknowledge

    def on_show_all(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        deps.run_later(
            show_all, deps, action.get("value") or "", _invocation(body), respond, client
        )

    for action_id in (ids.ACKNOWLEDGE, ids.SNOOZE_DAY, ids.SNOOZE_WEEK):
        app.action(action_id)(on_alert_button)
    app.action(ids.OPEN_ITEM)(on_open_item)
    app.action(ids.SHOW_ALL)(on_show_all)
