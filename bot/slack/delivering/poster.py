"""Paced posting, posted once.

``chat.postMessage`` is never retried blindly after a dropped connection or a server error: Slack
may have posted the message before the answer was lost. :meth:`Poster.post_once` carries the
send's key as message ``metadata`` (``event_type`` :data:`SEND_EVENT`) and, before posting again,
looks for that key in the channel's recent history (``conversations.history`` with
``include_all_metadata``; ``conversations.replies`` in a thread). A 429 is still retried: Slack
refused that request.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import urllib.error
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.models.metadata import Metadata
from slack_sdk.web import SlackResponse

from bot.slack.answering.blocks import Message
from bot.slack.delivering.pacing import ChannelPacer

log = logging.getLogger(__name__)
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
SEND_EVENT = "vsm_send_posted"
"""The ``event_type`` of the metadata every keyed post carries; its payload is the send's key."""
POST_ATTEMPTS = 3
"""Tries of one keyed post whose connection dropped (the channel is looked at between tries)."""
HISTORY_PAGE = 200
"""Messages per history page (Slack recommends at most 200)."""
LOOK_BACK = timedelta(minutes=5)
"""How much earlier than the attempt the channel is read (our clock against Slack's)."""


class UncertainPost(Exception):
    """A post may have reached Slack, and looking in the channel for it failed too."""

    def __init__(self, channel: str, cause: Exception) -> None:
        super().__init__(f"a post to {channel} may or may not have reached Slack: {cause}")
        self.cause = cause


def may_have_reached_slack(exc: BaseException) -> bool:
    """True when a failed request may still have been carried out (no answer, or a 5xx)."""
    if isinstance(exc, SlackApiError):
        return int(exc.response.status_code) >= 500
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, ConnectionRefusedError):
        return False  # never connected
    return isinstance(exc, OSError | http.client.HTTPException)


def _found(pages: Iterable[SlackResponse], payload: dict[str, str]) -> str | None:
    for page in pages:
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            ours = metadata.get("event_type") == SEND_EVENT
            if ours and metadata.get("event_payload") == payload:
                return str(message["ts"])
    return None


class Chart(Protocol):
    """A rendered chart (``bot.charts.ChartImage``): PNG bytes, file name, title, alt text."""

    @property
    def png(self) -> bytes: ...
    @property
    def filename(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def alt_text(self) -> str: ...


class Poster:
    """Posts, updates and uploads through one client, paced per channel."""

    def __init__(self, client: WebClient, pacer: ChannelPacer) -> None:
        self.client = client
        self.pacer = pacer

    def post(
        self,
        channel: str,
        message: Message,
        thread_ts: str | None = None,
        metadata: Metadata | None = None,
    ) -> str:
        """Post ``message`` once (in a thread when ``thread_ts`` is given); return its ts."""
        self.pacer.wait(channel)
        response = self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata,
            **message.as_kwargs(),
        )
        return str(response["ts"])

    def post_once(
        self,
        channel: str,
        message: Message,
        key: Mapping[str, str],
        since: datetime,
        *,
        look_first: bool = False,
        thread_ts: str | None = None,
    ) -> str:
        """Post ``message`` carrying ``key``, so that the channel gets it exactly once; its ts.

        ``since``: when the first attempt at this send began. With ``look_first`` (an earlier
        attempt may have reached Slack) and after each attempt whose answer was lost, the channel
        is read for ``key`` first and a message found there is the answer. Raises the post's
        error when the channel was seen without it, :class:`UncertainPost` when reading failed.
        """
        metadata = Metadata(event_type=SEND_EVENT, event_payload=dict(key))
        if look_first:
            found = self._look(channel, key, since, thread_ts, None)
            if found is not None:
                return found
        for attempt in range(POST_ATTEMPTS):
            try:
                return self.post(channel, message, thread_ts, metadata)
            except Exception as exc:
                if not may_have_reached_slack(exc):
                    raise
                last = exc
            self.pacer.sleep(default_interval_calculator.calculate_sleep_duration(attempt))
            found = self._look(channel, key, since, thread_ts, last)
            if found is not None:
                log.info("a post to %s whose answer was lost had reached Slack", channel)
                return found
        raise last

    def _look(
        self,
        channel: str,
        key: Mapping[str, str],
        since: datetime,
        thread_ts: str | None,
        failure: Exception | None,
    ) -> str | None:
        try:
            return self.find_sent(channel, key, since, thread_ts)
        except Exception as exc:
            raise UncertainPost(channel, failure or exc) from exc

    def find_sent(
        self, channel: str, key: Mapping[str, str], since: datetime, thread_ts: str | None = None
    ) -> str | None:
        """The ts of the message carrying ``key`` in ``channel`` (or its thread) since ``since``.

        Reading needs the bot in the channel: it joins a public one it is not in yet.
        """
        try:
            return _found(self._history(channel, since, thread_ts), dict(key))
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
        self.client.conversations_join(channel=channel)
        return _found(self._history(channel, since, thread_ts), dict(key))

    def _history(self, channel: str, since: datetime, thread_ts: str | None) -> SlackResponse:
        """The first page of the channel's (or thread's) messages since ``since``; iterate on."""
        oldest = f"{(since - LOOK_BACK).timestamp():.6f}"
        if thread_ts is not None:
            return self.client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                oldest=oldest,
                include_all_metadata=True,
                limit=HISTORY_PAGE,
            )
        return self.client.conversations_history(
            channel=channel, oldest=oldest, include_all_metadata=True, limit=HISTORY_PAGE
        )

    def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a posted message in place (no notification)."""
        self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())

    def upload(
        self,
        channel: str,
        content: bytes,
        filename: str,
        title: str,
        *,
        alt_text: str | None = None,
        thread_ts: str | None = None,
        comment: str | None = None,
    ) -> None:
        """Upload a file into ``channel`` (or its thread), joining a public channel if needed."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "content": content,
            "filename": filename,
            "title": title,
            "thread_ts": thread_ts,
            "initial_comment": comment,
        }
        if alt_text:
            kwargs["alt_txt"] = alt_text[:1000]
        self.pacer.wait(channel)
        try:
            self.client.files_upload_v2(**kwargs)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("not_in_channel", "channel_not_found"):
                raise
            self.client.conversations_join(channel=channel)
            self.client.files_upload_v2(**kwargs)

    def upload_chart(
        self, channel: str, chart: Chart, thread_ts: str | None = None, comment: str | None = None
    ) -> None:
        """Upload a rendered chart as a PNG with its alt text."""
        self.upload(
            channel,
            chart.png,
            chart.filename,
            chart.title,
            alt_text=chart.alt_text,
            thread_ts=thread_ts,
            comment=comment,
        )

    def open_dm(self, user_id: str) -> str:
        """The id of the direct-message channel with ``user_id``."""
        response = self.client.conversations_open(users=user_id)
        return str(response["channel"]["id"])


class ChannelDirectory:
    """Resolves channel names from app.yaml (``#team-flow``) to ids, remembering the answers."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, client: WebClient, channel: str) -> str | None:
        """The id of ``channel`` (an id is returned as is); None when no such channel is visible."""
        if CHANNEL_ID.match(channel):
            return channel
        name = channel.lstrip("#").lower()
        with self._lock:
            if name in self._ids:
                return self._ids[name]
        pages = client.conversations_list(  # iterating a SlackResponse follows its cursor
            types="public_channel,private_channel", exclude_archived=True, limit=1000
        )
        for page in pages:
            for conversation in page.get("channels", []):
                with self._lock:
                    self._ids[str(conversation["name"]).lower()] = str(conversation["id"])
        with self._lock:
            return self._ids.get(name)

    def remember(self, channel_id: str, channel_name: str | None) -> None:
        """Note a channel's name and id seen in a request (saves a lookup later)."""
        if channel_name:
            with self._lock:
                self._ids[channel_name.lower()] = channel_id
