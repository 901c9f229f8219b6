"""The shared HTTP client against a scripted loopback server: retries, rate limits, errors."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations._rest import RestApi
from integrations.base import SourceError
from integrations.http import HttpClient

NOW = 1_800_000_000.0


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    content_type: str = "application/json"


class Script:
    """A loopback server answering the scripted replies in order (then 200 {"ok": true})."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.release = threading.Event()
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                script.seen.append((self.command, self.path, dict(self.headers), body))
                reply = script.replies.pop(0) if script.replies else Reply()
                if reply.hang:
                    script.release.wait(5)
                if isinstance(reply.body, bytes):
                    data = reply.body
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                else:
                    data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def script() -> Iterator[Script]:
    server = Script()
    yield server
    server.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(url: str, sleeps: Sleeps, **kw) -> HttpClient:
    return HttpClient("payments/jira", url, sleep=sleeps, clock=lambda: NOW, **kw)


def test_5xx_answers_are_retried_with_exponential_backoff(script: Script) -> None:
    script.replies = [Reply(500), Reply(503), Reply(200, {"n": 1})]
    sleeps = Sleeps()
    http = client(script.url, sleeps)
    assert http.get_json("/x", params={"a": "1"}) == {"n": 1}
    assert sleeps == [1.0, 2.0]
    assert (http.stats.requests, http.stats.retries) == (3, 2)
    assert script.seen[-1][1] == "/x?a=1"


def test_backoff_is_capped(script: Script) -> None:
    script.replies = [Reply(502)] * 4
    sleeps = Sleeps()
    client(script.url, sleeps, backoff_cap=3.0).get_json("/x")
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_429_waits_the_retry_after_seconds(
    script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    script.replies = [
        Reply(429, headers={"Retry-After": "7", "RateLimit-Reason": "jira-burst-based"})
    ]
    sleeps = Sleeps()
    http = client(script.url, sleeps)
    with caplog.at_level(logging.WARNING):
        assert http.get_json("/x") == {"ok": True}
    assert sleeps == [7.0]
    assert http.stats.rate_limit_wait_seconds == 7.0
    assert "jira-burst-based" in caplog.text


def test_retry_after_as_an_http_date(script: Script) -> None:
    when = datetime.fromtimestamp(NOW + 42, UTC)
    script.replies = [Reply(429, headers={"Retry-After": format_datetime(when, usegmt=True)})]
    sleeps = Sleeps()
    client(script.url, sleeps).get_json("/x")
    assert sleeps == [42.0]


def test_429_without_retry_after_waits_a_minute(script: Script) -> None:
    script.replies = [Reply(429)]
    sleeps = Sleeps()
    client(script.url, sleeps).get_json("/x")
    assert sleeps == [60.0]


def test_rate_limit_reset_of_github(script: Script) -> None:
    reset = str(int(NOW) + 30)
    script.replies = [
        Reply(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    ]
    sleeps = Sleeps()
    client(script.url, sleeps).get_json("/x")
    assert sleeps == [30.0]


def test_a_rate_limit_longer_than_allowed_stops_at_once(script: Script) -> None:
    script.replies = [Reply(429, headers={"Retry-After": "3600"})]
    sleeps = Sleeps()
    with pytest.raises(SourceError, match=r"payments/jira: rate limited .* for 3600s"):
        client(script.url, sleeps, max_rate_limit_wait=900).get_json("/x")
    assert sleeps == []


def test_giving_up_names_the_source_and_keeps_the_cursor(script: Script) -> None:
    script.replies = [Reply(500)] * 3
    with pytest.raises(SourceError) as info:
        client(script.url, Sleeps(), max_retries=2).post_json("/search", {"jql": "x"})
    assert str(info.value) == (
        "payments/jira: gave up on POST /search after 2 retries (HTTP 500); the cursor stays "
        "at the last stored page, run the sync again later"
    )


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    sleeps = Sleeps()
    with pytest.raises(SourceError, match=r"after 2 retries \(ConnectionError\)"):
        client(f"http://127.0.0.1:{port}", sleeps, max_retries=2).get_json("/x")
    assert sleeps == [1.0, 2.0]


def test_a_server_that_does_not_answer_times_out(script: Script) -> None:
    script.replies = [Reply(hang=True), Reply(hang=True)]
    with pytest.raises(SourceError, match=r"after 1 retries \(ReadTimeout\)"):
        client(script.url, Sleeps(), max_retries=1, timeout=0.05).get_json("/x")


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check the credentials"),
        (403, "lack permission"),
        (404, "check the url"),
    ],
)
def test_client_errors_explain_what_to_do_without_the_secret(
    script: Script, status: int, hint: str
) -> None:
    script.replies = [Reply(status, {"errorMessages": ["nope"]})]
    sleeps = Sleeps()
    http = client(script.url, sleeps, auth=("bot@acme.example", "tok-s3cret"))
    with pytest.raises(SourceError) as info:
        http.get_json("/rest/api/2/field")
    message = str(info.value)
    assert f"GET /rest/api/2/field answered HTTP {status}" in message and hint in message
    assert "nope" in message and "tok-s3cret" not in message
    assert sleeps == []
    assert script.seen[0][2]["Authorization"].startswith("Basic ")


def test_headers_and_json_bodies_are_sent(script: Script) -> None:
    http = client(script.url, Sleeps(), headers={"Authorization": "Bearer pat"})
    assert http.post_json("rest/api/2/search", {"jql": "project = PAY"}) == {"ok": True}
    method, path, headers, body = script.seen[0]
    assert (method, path, headers["Authorization"]) == ("POST", "/rest/api/2/search", "Bearer pat")
    assert json.loads(body) == {"jql": "project = PAY"}
    assert headers["Accept"] == "application/json"


def test_a_body_that_is_not_json_is_a_clear_error(script: Script) -> None:
    script.replies = [Reply(200, "<html>login</html>")]
    with pytest.raises(SourceError, match="not valid JSON"):
        client(script.url, Sleeps()).get_json("/x")


def test_an_empty_body_is_the_same_clear_error(script: Script) -> None:
    script.replies = [Reply(200, b"")]
    with pytest.raises(SourceError, match=r"not valid JSON \(0 bytes\)"):
        client(script.url, Sleeps()).get_json("/x")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            '{"s": "Café ☕ \\u00e9", "n": [1, -0.5, 1e-7, null]}'.encode(),
            "application/json",
            {"s": "Café ☕ é", "n": [1, -0.5, 1e-7, None]},
        ),
        (
            b'{"id": 123456789012345678901}',
            "application/json; charset=utf-8",
            {"id": 123456789012345678901 * 1.0},
        ),
        (b'{"s": "a\xffb"}', "application/json", {"s": "a\ufffdb"}),  # invalid UTF-8: replaced
        ('{"s": "é"}'.encode(), "application/json; charset=iso-8859-1", {"s": "Ã©"}),
        ('{"s": "é"}'.encode("utf-16"), "application/json; charset=utf-16", {"s": "é"}),
        ('{"s": "é"}'.encode(), "application/json; charset=no-such-charset", {"s": "é"}),
    ],
    ids=["utf8", "beyond-64-bits", "invalid-utf8", "declared-latin1", "utf16", "unknown-charset"],
)
def test_bodies_decode_as_their_encoding_says(
    script: Script, body: bytes, content_type: str, expected: object
) -> None:
    script.replies = [Reply(200, body, content_type=content_type)]
    assert client(script.url, Sleeps()).get_json("/x") == expected


def test_what_only_the_standard_decoder_reads_still_decodes(script: Script) -> None:
    script.replies = [Reply(200, b'{"x": NaN, "y": "\\ud800"}')]
    answer = client(script.url, Sleeps()).get_json("/x")
    assert math.isnan(answer["x"]) and answer["y"] == "\ud800"


def test_the_rest_plumbing_decodes_the_same_way(script: Script) -> None:
    script.replies = [Reply(200, '[{"title": "Ünïcode"}]'.encode()), Reply(200, "<html>")]
    api = RestApi(client(script.url, Sleeps()))
    assert api.get_json("/pulls") == [{"title": "Ünïcode"}]
    with pytest.raises(SourceError, match=r"/issues answered with a body that is not JSON"):
        api.get_json("/issues")
