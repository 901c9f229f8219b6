"""Request bodies are capped before they are read: an oversized one gets 413, whoever sent it.

Slack's payloads are small; an unauthenticated sender must not make the bot hold hundreds of
megabytes. A declared length over the cap is refused before a byte is read, and a body without a
length (chunked) is read to at most one byte past the cap.
"""

from __future__ import annotations

import io
import json
import socket
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit
from wsgiref.util import setup_testing_defaults

from pydantic import SecretStr

from bot.slack.receiving.guard import MAX_BODY_BYTES
from bot.slack.state.sealed_store import TokenCipher
from bot.slack.wsgi import wsgi_app
from tests.fake_slack import FakeSlack
from tests.slack_harness import (
    TEAM_CHANNEL,
    BotHarness,
    demo_config,
    demo_runtime,
    signed_headers,
)

HUGE = 400_000_000
FORM = "application/x-www-form-urlencoded"


class Stream:
    """A request body of ``size`` bytes that records how much each read asked for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.asked: list[int] = []

    def read(self, limit: int = -1) -> bytes:
        if limit is None or limit < 0:
            raise AssertionError("the body was read without a limit")
        self.asked.append(limit)
        served = min(limit, self.size, 2 * MAX_BODY_BYTES)
        self.size -= served
        return b"x" * served


def call(application: Any, method: str, path: str, body: Any, **environ: Any) -> str:
    """Call the WSGI app once; return the status line."""
    env: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": body}
    env.update(environ)
    setup_testing_defaults(env)
    statuses: list[str] = []
    b"".join(application(env, lambda status, headers: statuses.append(status)))
    return statuses[0]


def test_a_declared_length_over_the_cap_gets_413_before_a_byte_is_read(harness) -> None:
    stream = Stream(HUGE)

    status = call(wsgi_app(harness.bot), "POST", "/slack/events", stream, CONTENT_LENGTH=str(HUGE))

    assert status.startswith("413")
    assert stream.asked == []


def test_a_body_without_a_length_is_read_to_one_byte_past_the_cap(harness) -> None:
    stream = Stream(HUGE)

    status = call(
        wsgi_app(harness.bot), "POST", "/slack/events", stream, **{"wsgi.input_terminated": True}
    )

    assert status.startswith("413")
    assert sum(stream.asked) <= MAX_BODY_BYTES + 1


def test_a_chunked_signed_command_within_the_cap_is_handled(harness) -> None:
    name = uuid.uuid4().hex
    body = urlencode(
        {
            "command": "/vsm",
            "text": "status",
            "user_id": "U0MEMBER1",
            "channel_id": TEAM_CHANNEL,
            "response_url": harness.fake.response_url(name),
        }
    ).encode()
    headers = signed_headers(body, FORM)

    status = call(
        wsgi_app(harness.bot),
        "POST",
        "/slack/events",
        io.BytesIO(body),
        CONTENT_TYPE=FORM,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=headers["X-Slack-Request-Timestamp"],
        HTTP_X_SLACK_SIGNATURE=headers["X-Slack-Signature"],
        **{"wsgi.input_terminated": True},
    )

    assert status.startswith("200")
    assert harness.fake.wait_for("response", name=name)


def test_an_oversized_upload_is_answered_413_at_once_over_http(harness) -> None:
    address = urlsplit(harness.url)
    request = (
        f"POST {address.path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: {HUGE}\r\n"
        "X-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=00\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=5) as client:
        client.sendall(request)
        answer = b"".join(iter(lambda: client.recv(4096), b""))

    status, _, rest = answer.partition(b"\r\n")
    assert status.split()[1] == b"413", answer
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1]) == {"error": "request body too large"}


def test_the_oauth_pages_cap_their_bodies_too(fake: FakeSlack, tmp_path) -> None:
    config = demo_config(
        fake,
        bot_token=None,
        client_id="1111.2222",
        client_secret=SecretStr("client-secret-for-tests"),
        encryption_key=SecretStr(TokenCipher.generate()),
    )
    bot = BotHarness(fake, demo_runtime(config, tmp_path))
    try:
        stream = Stream(HUGE)
        status = call(wsgi_app(bot.bot), "GET", "/slack/install", stream, CONTENT_LENGTH=str(HUGE))
    finally:
        bot.close()

    assert status.startswith("413")
    assert stream.asked == []
