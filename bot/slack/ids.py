"""The names Slack and the code share: the slash command, action ids and subscribed events.

Listeners register exactly these, renderers put them on buttons, and the manifest is generated
from them, so the three cannot drift apart.
"""

from __future__ import annotations

COMMAND = "/vsm"
COMMAND_DESCRIPTION = "Flow metrics, aging and blocked work, digests and alerts"
COMMAND_USAGE_HINT = "help | me | flow | aging | blocked | prs | dora | forecast | chart | status"

ACKNOWLEDGE = "alert_acknowledge"
SNOOZE_DAY = "alert_snooze_day"
SNOOZE_WEEK = "alert_snooze_week"
OPEN_ITEM = "open_item"
SHOW_ALL = "show_all"
EXPLAIN = "explain_number"
"""A "Why?" button (or overflow option) on a figure: the items behind it and how it is computed."""
ACTIONS = (ACKNOWLEDGE, SNOOZE_DAY, SNOOZE_WEEK, OPEN_ITEM, SHOW_ALL, EXPLAIN)


def explain_value(metric: str, team: str, window_days: int | None = None) -> str:
    """The value of an :data:`EXPLAIN` button: which figure of which team over which window."""
    return f"{metric}|{team}|{window_days or ''}"


APP_HOME_OPENED = "app_home_opened"
EVENTS = (APP_HOME_OPENED,)
OAUTH_EVENTS = ("app_uninstalled", "tokens_revoked")
"""Handled by Bolt's token revocation listeners when the OAuth install flow is on."""
