"""The first check of every HTTP request: its size; for ``/slack/events``, Slack's signature too.

A body is capped before it is read: a declared ``Content-Length`` over :data:`MAX_BODY_BYTES`
gets 413 before a byte is read, and a body without one (chunked) is read to at most one byte past
the cap, so an unauthenticated sender cannot make the bot hold more than that per request.

Slack signs each request: ``X-Slack-Signature`` is ``v0=`` + HMAC-SHA256 of
``v0:{X-Slack-Request-Timestamp}:{raw body}`` under the app's signing secret. A request whose
signature does not match, whose timestamp is more than five minutes away from now, or whose
signature was already accepted (a replay) gets 401 before Bolt parses it; a warning names the
reason and the sender's address, never the body (it holds what users typed). Accepted signatures
are kept in the database (:mod:`storage.replays`), so a replay is refused by every process on it
and after a restart. A Slack retry (``X-Slack-Retry-Num``) of a request already accepted gets
200 and is not handled twice. A request the database cannot check (busy, unreachable) is not
handled: a slash command is told why in an ephemeral reply, anything else gets 503.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.slack.answering.blocks import escape
from bot.slack.delivering.problems import database_busy
from storage.replays import WINDOW, first_sighting

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20
"""Slack's requests are a few kilobytes; a button on a long message stays far below 1 MiB."""
WINDOW_SECONDS = int(WINDOW.total_seconds())
Refusal = tuple[str, bytes]
UNAUTHORIZED: Refusal = ("401 Unauthorized", b'{"error": "invalid request"}')
TOO_LARGE: Refusal = ("413 Content Too Large", b'{"error": "request body too large"}')
UNAVAILABLE: Refusal = ("503 Service Unavailable", b'{"error": "try again later"}')
ALREADY_HANDLED: Refusal = ("200 OK", b"")


class _Clock(Clock):
    """The clock slack_sdk's verifier asks (``now()``), over our ``time``-like callable."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock()


def take_body(environ: dict[str, Any], limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, at most ``limit`` bytes, put back as a fresh stream; None when larger.

    A body without ``Content-Length`` is read only when the server says its input ends
    (``wsgi.input_terminated``, e.g. gunicorn's chunked decoding); otherwise it is taken as empty.
    """
    declared = _content_length(environ)
    if declared is not None and declared > limit:
        return None
    stream = environ.get("wsgi.input")
    if stream is None or declared == 0:
        body = b""
    elif declared is not None:
        body = stream.read(declared)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read(limit + 1)
    else:
        body = b""
    if len(body) > limit:
        return None
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _content_length(environ: dict[str, Any]) -> int | None:
    """The declared length (None when undeclared; 0 when it is not a length)."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return None
    return int(declared) if declared.isdigit() else 0


def refuse_oversized(environ: dict[str, Any]) -> Refusal | None:
    """413 for a body over the cap, else None with the body ready for the next reader."""
    return None if take_body(environ) is not None else _too_large(environ)


def _too_large(environ: dict[str, Any]) -> Refusal:
    log.warning(
        "refused a request to %s from %s: its body is over %d bytes (Content-Length %r)",
        str(environ.get("PATH_INFO"))[:100],
        environ.get("REMOTE_ADDR", "unknown address"),
        MAX_BODY_BYTES,
        str(environ.get("CONTENT_LENGTH"))[:20],
    )
    return TOO_LARGE


class RequestGuard:
    """Screens signed requests; :meth:`screen` returns a refusal, or None to let one through."""

    def __init__(
        self, signing_secret: str, engine: Engine, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self.engine = engine
        self.verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def screen(self, environ: dict[str, Any]) -> Refusal | None:
        """Check the request in ``environ`` (its body stays readable for Bolt)."""
        body = take_body(environ)
        if body is None:
            return _too_large(environ)
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        problem = self._problem(body, timestamp, signature)
        if problem is None:
            try:
                if self._first_sighting(signature):
                    return None
            except SQLAlchemyError as exc:
                return self._unchecked(exc, body)
            problem = "replayed (this signature was already accepted)"
            if environ.get("HTTP_X_SLACK_RETRY_NUM"):
                log.info("Slack retried a request already handled; answered without handling it")
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

    def _unchecked(self, exc: SQLAlchemyError, body: bytes) -> Refusal:
        """A request the database could not check for replay: it is not handled.

        A slash command gets an ephemeral sentence saying why (Slack shows a command's 200 body
        to the user); anything else gets 503, and Slack retries it.
        """
        busy = database_busy(exc, self.engine)
        log.warning("cannot check a request for replay: %s", busy or f"database error: {exc}")
        if busy is None or not _is_slash_command(body):
            return UNAVAILABLE
        reply = {"response_type": "ephemeral", "text": f"Nothing was done: {escape(busy)}."}
        return "200 OK", json.dumps(reply).encode()

    def _first_sighting(self, signature: str) -> bool:
        """Record the signature; False when some process already accepted it."""
        return first_sighting(self.engine, signature, datetime.fromtimestamp(self.clock(), UTC))

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


def _is_slash_command(body: bytes) -> bool:
    """Whether a form body is a slash command (it has a ``command`` field)."""
    return "command" in parse_qs(body.decode("utf-8", "replace"))


def _same(expected: str | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())
