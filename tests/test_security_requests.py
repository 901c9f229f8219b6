"""Signed requests in HTTP mode: bad signatures, stale timestamps and replays get 401.

Refusals are logged without the request's body; a Slack retry of a request already handled is
answered but not handled twice. Replays are refused by every process on the database, and after
a restart.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests

from bot.runtime import open_runtime
from tests.fake_slack import FakeSlack
from tests.slack_harness import (
    SIGNING_SECRET,
    TEAM_CHANNEL,
    BotHarness,
    demo_config,
    demo_runtime,
    signed_headers,
)

MARKER = "confidential-text-4f7c"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def harness(fake, tmp_path) -> Iterator[BotHarness]:
    bot = BotHarness(fake, demo_runtime(demo_config(fake), tmp_path))
    yield bot
    bot.close()


def command_body(harness: BotHarness, name: str, text: str = f"flow {MARKER}") -> bytes:
    return urlencode(
        {
            "command": "/vsm",
            "text": text,
            "user_id": "U0MEMBER1",
            "channel_id": TEAM_CHANNEL,
            "team_id": "T0FAKE001",
            "response_url": harness.fake.response_url(name),
        }
    ).encode()


def post(harness: BotHarness, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(harness.url, data=body, headers=headers, timeout=10)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("secret", "offset", "reason"),
    [
        ("not-the-signing-secret", 0, "bad signature"),
        (SIGNING_SECRET, -6 * 60, "more than 5 minutes"),
        (SIGNING_SECRET, 6 * 60, "more than 5 minutes"),
    ],
)
def test_bad_or_stale_requests_get_401_and_are_logged_without_their_body(
    harness, caplog, secret, offset, reason
) -> None:
    body = command_body(harness, "x")
    headers = signed_headers(body, FORM, timestamp=int(time.time()) + offset, secret=secret)
    with caplog.at_level(logging.DEBUG):
        response = post(harness, body, headers)

    assert response.status_code == 401
    assert reason in caplog.text and "refused a request" in caplog.text
    assert MARKER not in caplog.text, "the body is never logged"
    assert harness.fake.calls_to("response") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": FORM},
        {"Content-Type": FORM, "X-Slack-Signature": "v0=abc", "X-Slack-Request-Timestamp": "x"},
    ],
)
def test_unsigned_or_malformed_requests_get_401(harness, caplog, headers) -> None:
    with caplog.at_level(logging.DEBUG):
        response = post(harness, command_body(harness, "x"), headers)

    assert response.status_code == 401
    assert MARKER not in caplog.text


def test_a_replayed_request_gets_401_and_is_handled_once(harness, caplog) -> None:
    name = uuid.uuid4().hex
    body = command_body(harness, name, "status")
    headers = signed_headers(body, FORM)

    first = post(harness, body, headers)
    with caplog.at_level(logging.WARNING):
        replay = post(harness, body, headers)
    harness.fake.wait_for("response", name=name)

    assert (first.status_code, replay.status_code) == (200, 401)
    assert "replayed" in caplog.text
    assert len(harness.fake.responses(name)) == 1


def test_a_slack_retry_of_a_handled_request_is_acknowledged_not_repeated(harness) -> None:
    name = uuid.uuid4().hex
    body = command_body(harness, name, "status")
    headers = signed_headers(body, FORM)

    first = post(harness, body, headers)
    retry = post(harness, body, {**headers, "X-Slack-Retry-Num": "1"})
    harness.fake.wait_for("response", name=name)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert len(harness.fake.responses(name)) == 1


def test_a_fresh_request_within_five_minutes_passes(harness) -> None:
    body = command_body(harness, uuid.uuid4().hex, "help")
    headers = signed_headers(body, FORM, timestamp=int(time.time()) - 4 * 60)

    assert post(harness, body, headers).status_code == 200


def test_replays_get_401(harness, fake) -> None:
    """Refused by the process that handled it, by another one on its database, after restarts."""
    config, database = harness.runtime.config, harness.runtime.engine.url.render_as_string()
    name = uuid.uuid4().hex
    body = command_body(harness, name, "status")
    headers = signed_headers(body, FORM)

    accepted = post(harness, body, headers)
    fake.wait_for("response", name=name)
    statuses = [post(harness, body, headers).status_code]
    for _process in ("a second process", "a process started after the first one stopped"):
        other = BotHarness(fake, open_runtime(config, database=database))
        try:
            statuses.append(post(other, body, headers).status_code)
        finally:
            other.close()

    assert (accepted.status_code, statuses) == (200, [401, 401, 401])
    assert len(fake.responses(name)) == 1, "the command ran once"
