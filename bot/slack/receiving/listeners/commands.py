"""The ``/vsm`` slash command: parse, ``ack()`` within milliseconds, work in the pool.

Slack sends the command's ``text`` with ``&``, ``<`` and ``>`` escaped; it is decoded once here,
so the parser sees what the person typed and every reply escapes it exactly once.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.answering.blocks import unescape
from bot.slack.answering.render import render_help, render_usage
from bot.slack.deps import SlackDeps
from bot.slack.receiving.handlers import Invocation, run_command
from bot.slack.receiving.parser import UsageError, parse_command


def handle_vsm(
    deps: SlackDeps, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
) -> None:
    """Answer help and usage errors in the ack itself; everything else after it."""
    teams = [t.name for t in deps.runtime.config.teams]
    parsed = parse_command(unescape(command.get("text") or ""), teams)
    if isinstance(parsed, UsageError):
        ack(**render_usage(parsed.command, parsed.problem).as_kwargs())
        return
    if parsed.name == "help":
        response_type = "in_channel" if parsed.share else "ephemeral"
        ack(**render_help(parsed.topic).as_kwargs(), response_type=response_type)
        return
    ack()
    deps.run_later(run_command, deps, parsed, Invocation.from_command(command), respond, client)


def register(app: App, deps: SlackDeps) -> None:
    """Register ``/vsm``."""

    def on_vsm(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        handle_vsm(deps, ack, command, respond, client)

    app.command(ids.COMMAND)(on_vsm)
