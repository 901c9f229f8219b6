"""The "Why?" of a figure: a button or an overflow option carrying an :data:`ids.EXPLAIN` value.

The listener acknowledges at once; the worker pool answers whoever clicked with the items behind
the figure (:mod:`bot.slack.answering.explain`): ephemerally under a message, or in a direct
message when the click came from the App Home (a view has no ``response_url``). A value that no
longer names a known figure, team or window gets a short reply instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.answering.blocks import Message, escape
from bot.slack.answering.explain import DORA_EXPLAINERS, FIGURES, explanation
from bot.slack.answering.render import notice
from bot.slack.deps import SlackDeps
from bot.slack.receiving.handlers import DEFAULT_DORA_WINDOW, DEFAULT_FLOW_WINDOW, reply
from bot.slack.receiving.parser import MAX_WINDOW_DAYS, echo

log = logging.getLogger(__name__)
GONE = "That number is no longer available; run the command again."
Answer = Callable[[Message], object]


def clicked_value(action: dict[str, Any]) -> str:
    """The explain value of a clicked button, or of the option chosen in an overflow menu."""
    option = action.get("selected_option") or {}
    return str(option.get("value") or action.get("value") or "")


def parse_value(value: str) -> tuple[str, str, int | None]:
    """``metric|team|window`` (:func:`ids.explain_value`) split; ValueError when malformed."""
    metric, rest = value.split("|", 1)
    team, window = rest.rsplit("|", 1)
    if not window:
        return metric, team, None
    days = int(window)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"window of {days} days")
    return metric, team, days


def explain(deps: SlackDeps, value: str, answer: Answer) -> None:
    """Answer a "Why?" click with the items behind the figure (runs in the worker pool)."""
    try:
        metric, team_name, window = parse_value(value)
        team = deps.runtime.config.team(team_name)
    except (ValueError, KeyError):
        answer(notice(GONE))
        return
    if metric not in FIGURES:
        answer(notice(f"I cannot explain `{escape(echo(metric))}`. {GONE}"))
        return
    default = DEFAULT_DORA_WINDOW if metric in DORA_EXPLAINERS else DEFAULT_FLOW_WINDOW
    try:
        message = explanation(deps.answers, team, metric, deps.now(), window or default)
    except Exception:
        log.exception("explaining %s of %s failed", metric, team.name)
        message = notice("Sorry, that failed on my side. It is logged; please try again.")
    answer(message)


def answer_to(deps: SlackDeps, body: dict[str, Any], respond: Respond, client: WebClient) -> Answer:
    """How to answer the clicker: ephemerally, or by direct message from the App Home.

    A click in a view (the App Home) carries no ``response_url``, so ``respond`` cannot answer.
    """
    if body.get("response_url"):
        return lambda message: reply(respond, message)
    poster = deps.poster(client)
    user_id = body["user"]["id"]
    return lambda message: poster.post(poster.open_dm(user_id), message)


def register(app: App, deps: SlackDeps) -> None:
    """Register the listener of :data:`ids.EXPLAIN` (buttons and overflow options alike)."""

    def on_explain(
        ack: Ack,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: Respond,
        client: WebClient,
    ) -> None:
        ack()
        answer = answer_to(deps, body, respond, client)
        deps.run_later(explain, deps, clicked_value(action), answer)

    app.action(ids.EXPLAIN)(on_explain)
