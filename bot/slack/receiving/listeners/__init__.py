"""Bolt listeners, one module per group; each has ``register(app, deps)``.

Listeners are plain functions that ``ack()`` at once and hand the work to the worker pool; our
dependencies reach them through closures, because Bolt injects arguments by parameter name.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.deps import SlackDeps
from bot.slack.receiving.listeners import actions, commands, events, explain


def register_listeners(app: App, deps: SlackDeps) -> None:
    """Register every listener group on ``app``."""
    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    explain.register(app, deps)
