"""The first check of every request to ``/slack/events``: Slack's signature, its age, replays.

Slack signs each request: ``X-Slack-Signature`` is ``v0=`` + HMAC-SHA256 of
``v0:{X-Slack-Request-Timestamp}:{raw body}`` under the app's signing secret. A request whose
signature does not match, whose timestamp is more than five minutes away from now, or whose
signature this process already accepted (a replay) gets 401 before Bolt parses it; a warning
names the reason and the sender's address, never the body (it holds what users typed). A Slack
retry (``X-Slack-Retry-Num``) of a request already accepted gets 200 and is not handled twice.
Each process remembers the signatures it accepted for five minutes.
"""

from __future__ import annotations

import hmac
import io
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)
WINDOW_SECONDS = 5 * 60
UNAUTHORIZED = ("401 Unauthorized", b'{"error": "invalid request"}')
ALREADY_HANDLED = ("200 OK", b"")


class _Clock(Clock):
    """The clock slack_sdk's verifier asks (``now()``), over our ``time``-like callable."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock()


class RequestGuard:
    """Screens signed requests; :meth:`screen` returns a refusal, or None to let one through."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._accepted: dict[str, float] = {}
        self._lock = threading.Lock()

    def screen(self, environ: dict[str, Any]) -> tuple[str, bytes] | None:
        """Check the request in ``environ`` (its body stays readable for Bolt)."""
        body = _read_body(environ)
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        problem = self._problem(body, timestamp, signature)
        if problem is None:
            now = self.clock()
            with self._lock:
                self._forget_before(now)
                if signature in self._accepted:
                    problem = "replayed (this signature was already accepted)"
                else:
                    self._accepted[signature] = now + WINDOW_SECONDS
        if problem is None:
            return None
        if problem.startswith("replayed") and environ.get("HTTP_X_SLACK_RETRY_NUM"):
            log.info("Slack retried a request already handled; answered without handling it again")
            return ALREADY_HANDLED
        log.warning(
            "refused a request to /slack/events from %s: %s (timestamp %r, %d bytes; body not "
            "logged)",
            environ.get("REMOTE_ADDR", "unknown address"),
            problem,
            timestamp[:20],
            len(body),
        )
        return UNAUTHORIZED

    def _problem(self, body: bytes, timestamp: str, signature: str) -> str | None:
        if not signature or not timestamp:
            return "not signed (no X-Slack-Signature or X-Slack-Request-Timestamp)"
        try:
            age = abs(self.clock() - int(timestamp))
        except ValueError:
            return "the timestamp is not a number"
        if age > WINDOW_SECONDS:
            return f"the timestamp is {int(age)} s away from now (more than 5 minutes: a replay?)"
        expected = self.verifier.generate_signature(timestamp=timestamp, body=body)
        if not _same(expected, signature):
            return "bad signature (check slack.signing_secret)"
        return None

    def _forget_before(self, now: float) -> None:
        """Drop expired signatures (oldest first: they were added in time order)."""
        while self._accepted:
            oldest = next(iter(self._accepted))
            if self._accepted[oldest] >= now:
                return
            del self._accepted[oldest]


def _same(expected: str | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())


def _read_body(environ: dict[str, Any]) -> bytes:
    """The raw body, put back as a fresh stream for the next reader."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
