"""Pacing and retries: how fast the bot talks to Slack, and what it tries again.

Our own posts are paced to at most one message per second per channel by a shared
:class:`ChannelPacer`; a 429 anywhere also holds every other post of the process until its
``Retry-After`` has passed, so a rate-limit storm is not made worse by the other worker threads.
The retry handlers every client carries (:func:`retry_handlers`) wait through the runtime's
``sleep`` (so tests never wait) and never retry ``chat.postMessage`` after a dropped connection
or a server error: Slack may have posted it (see :mod:`bot.slack.delivering.poster`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

Sleep = Callable[[float], None]
POST_INTERVAL_SECONDS = 1.0
POST_METHOD = "chat.postMessage"


class ChannelPacer:
    """At most one post per ``interval`` seconds per channel; waits go through ``sleep``."""

    def __init__(
        self,
        interval: float = POST_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._next_free: dict[str, float] = {}
        self._held_until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Slack said to slow down: no post of this process starts for ``seconds``."""
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + seconds)

    def wait(self, channel: str) -> float:
        """Reserve the channel's next slot and wait for it; return the seconds waited."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._held_until, self._next_free.get(channel, now))
            self._next_free[channel] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self.sleep(delay)
        return delay


class RateLimitRetry(RateLimitErrorRetryHandler):
    """On HTTP 429, wait ``Retry-After`` (plus jitter) through the injected sleep, then retry.

    ``on_limited`` hears of every wait first (the pacer holds the other posts for as long).
    """

    def __init__(
        self,
        sleep: Sleep,
        max_retry_count: int = 3,
        on_limited: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.on_limited = on_limited

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("rate-limit retry without a response")
        headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            wait = float(headers.get("retry-after", ["1"])[0])
        except ValueError:
            wait = 1.0
        wait += random.random()
        state.next_attempt_requested = True
        if self.on_limited is not None:
            self.on_limited(wait)
        self.sleep(wait)
        state.increment_current_attempt()


class _SleepingBackoff(RetryHandler):
    """Back off between attempts through the injected sleep instead of ``time.sleep``."""

    sleep: Sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class _NotPosts(RetryHandler):
    """Leave ``chat.postMessage`` alone: the post may have happened (see ``Poster.post_once``)."""

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.endswith("/" + POST_METHOD):
            return False
        return super().can_retry(state=state, request=request, response=response, error=error)


class ServerErrorRetry(_NotPosts, _SleepingBackoff, ServerErrorRetryHandler):
    """Retry HTTP 500/503 with backoff (not posts)."""

    def __init__(self, sleep: Sleep, max_retry_count: int = 2) -> None:
        ServerErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.sleep = sleep


class ConnectionRetry(_NotPosts, _SleepingBackoff, ConnectionErrorRetryHandler):
    """Retry dropped connections with backoff (not posts)."""

    def __init__(self, sleep: Sleep, max_retry_count: int = 2) -> None:
        ConnectionErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.sleep = sleep


def retry_handlers(sleep: Sleep, pacer: ChannelPacer | None = None) -> list[RetryHandler]:
    """The retry handlers every client gets (a 429 holds ``pacer``'s posts too)."""
    on_limited = pacer.hold if pacer is not None else None
    return [
        ConnectionRetry(sleep),
        RateLimitRetry(sleep, on_limited=on_limited),
        ServerErrorRetry(sleep),
    ]
