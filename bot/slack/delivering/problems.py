"""What went wrong when a post or a database write failed, and whether a person has to act.

Slack's answers fall in two kinds. A *setup* problem (the channel is gone, the bot is not in it,
the token was revoked) repeats until someone fixes it: the admins are told once a day, in words
that say what to do. A *passing* problem (rate limits after the retries, Slack down, a timeout)
is only logged. Either way the send is marked failed and retried later, never marked sent.

A SQLite database whose write lock another program holds for longer than the busy timeout gets
a sentence naming the file and what to do (:func:`database_busy`).
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.slack.delivering.client import NoTokenError
from storage.db import SQLITE_BUSY_TIMEOUT_MS

INVITE = "invite me with `/invite @vsm-bot` in that channel"
TOKEN_ADVICE = (
    "Slack refused the bot token ({error}): set a valid SLACK_BOT_TOKEN (api.slack.com/apps → "
    "OAuth & Permissions), or reinstall the app through /slack/install"
)
SETUP_ADVICE = {
    "channel_not_found": "I cannot see channel {channel}: check the channel in app.yaml (or where "
    "the digest was subscribed); for a private channel, " + INVITE,
    "not_in_channel": "I am not a member of channel {channel}: " + INVITE,
    "is_archived": "channel {channel} is archived: unarchive it or give the team another channel",
    "restricted_action": "posting in {channel} is restricted for apps: ask a workspace admin",
    "missing_scope": "the bot token lacks a permission: reinstall the app with the scopes of "
    "`vsm manifest`",
    "invalid_auth": TOKEN_ADVICE,
    "not_authed": TOKEN_ADVICE,
    "token_revoked": TOKEN_ADVICE,
    "token_expired": TOKEN_ADVICE,
    "account_inactive": TOKEN_ADVICE,
    "no_token": "no bot token is known for the channel's workspace: set SLACK_BOT_TOKEN, or "
    "install the app through /slack/install and run a /vsm command there once",
}
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_token"}
)
PASSING_ERRORS = (
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    SlackRequestError,
)


class ChannelNotVisible(LookupError):
    """A channel name from app.yaml matches no channel the bot can see."""


@dataclass(frozen=True)
class Problem:
    """A failed post, classified."""

    error: str
    """Slack's error code (``channel_not_found``), or a short name for other failures."""
    advice: str
    """What a person should do, or what happens next."""
    setup: bool
    """True when it repeats until someone fixes it (tell the admins)."""

    @property
    def auth(self) -> bool:
        """True when the bot's token itself was refused (telling the admins may fail too)."""
        return self.error in AUTH_ERRORS


def classify(exc: BaseException, channel: str) -> Problem | None:
    """The problem behind ``exc`` when posting in ``channel``; None for an unexpected error."""
    if isinstance(exc, ChannelNotVisible):
        return Problem(
            "channel_not_found", SETUP_ADVICE["channel_not_found"].format(channel=channel), True
        )
    if isinstance(exc, NoTokenError):
        return Problem("no_token", SETUP_ADVICE["no_token"], setup=True)
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in SETUP_ADVICE:
            return Problem(error, SETUP_ADVICE[error].format(channel=channel, error=error), True)
        return Problem(error, "Slack refused the post; it is retried later", setup=False)
    if isinstance(exc, PASSING_ERRORS):
        return Problem(
            "unreachable", f"Slack could not be reached ({exc}); retried later", setup=False
        )
    return None


def database_busy(exc: BaseException, engine: Engine) -> str | None:
    """A sentence for SQLite's "database is locked" (naming the file), else None."""
    if not isinstance(exc, OperationalError) or "database is locked" not in str(exc.orig):
        return None
    seconds = SQLITE_BUSY_TIMEOUT_MS // 1000
    return (
        f"the database {engine.url.database} is busy: another program has held its write lock "
        f"for more than {seconds} s. Try again in a minute; if it keeps happening, stop the "
        "other program using that file (one vsm process per SQLite file; run several on "
        "PostgreSQL)"
    )
