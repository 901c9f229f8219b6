"""``POST /webhooks/<source name>`` (bot.webhooks.receiver): verified, deduplicated, bounded.

Requests go to the WSGI app directly, and over loopback HTTP where the transport matters (a body
refused before it is sent, the mount beside /slack/events). Signatures are computed here.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from sqlalchemy import Engine, text

from bot.config import parse_config
from bot.runtime import Runtime
from bot.slack.wsgi import Wsgi, make_http_server, wsgi_app
from bot.webhooks.receiver import webhook_app
from storage.webhooks import load_webhook_health
from tests.conftest import NOW
from tests.slack_harness import BotHarness

SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "gh-secret",
    "GITLAB_WEBHOOK_SECRET": "gl-secret",
    "JIRA_WEBHOOK_SECRET": "jira-secret",
    "PD_WEBHOOK_SECRET": "pd-secret",
}
ENV = {**SECRETS, "TOKEN": "vendor-token", "BLANK": ""}
BODY = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "PAY-12"}}).encode()


class Sink:
    """A hint sink that records what it is told."""

    def __init__(self) -> None:
        self.hints: list[tuple[str, datetime]] = []

    def notify(self, source_name: str, at: datetime) -> None:
        self.hints.append((source_name, at))


def teams() -> list[dict[str, Any]]:
    jira = {
        "type": "jira",
        "url": "https://acme.atlassian.net",
        "project": "PAY",
        "token": "${TOKEN}",
        "webhook_secret": "${JIRA_WEBHOOK_SECRET}",
    }
    github = {
        "type": "github",
        "token": "${TOKEN}",
        "repos": ["acme/api"],
        "webhook_secret": "${GITHUB_WEBHOOK_SECRET}",
    }
    gitlab = {
        "type": "gitlab",
        "name": "gitlab-web",
        "token": "${TOKEN}",
        "projects": ["acme/web"],
        "webhook_secret": "${GITLAB_WEBHOOK_SECRET}",
    }
    pagerduty = {
        "type": "pagerduty",
        "token": "${TOKEN}",
        "services": ["P1"],
        "webhook_secret": "${PD_WEBHOOK_SECRET}",
    }
    unsigned = {"type": "github", "name": "no-hook", "token": "${TOKEN}", "repos": ["acme/x"]}
    blank = {**unsigned, "name": "blank-hook", "webhook_secret": "${BLANK}"}
    return [
        {"name": "alpha", "sources": [jira, github, gitlab, pagerduty, unsigned, blank]},
        {"name": "beta", "sources": [jira]},
    ]


@pytest.fixture
def runtime(engine: Engine) -> Runtime:
    """Two teams sharing the Jira source ``jira``; alpha also has GitHub, GitLab and PagerDuty."""
    return Runtime(
        config=parse_config({"teams": teams()}, env=ENV), engine=engine, clock=lambda: NOW
    )


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def app(runtime: Runtime, sink: Sink) -> Wsgi:
    return webhook_app(runtime, sink)


def call(
    app: Wsgi,
    path: str,
    body: bytes = BODY,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    query: str = "",
) -> tuple[int, dict[str, Any]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    setup_testing_defaults(environ)
    statuses: list[str] = []
    answer = b"".join(app(environ, lambda status, _: statuses.append(status)))
    return int(statuses[0].split()[0]), json.loads(answer)


def hex_hmac(secret: str, body: bytes = BODY) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(kind: str, delivery: str, body: bytes = BODY, wrong: bool = False) -> dict[str, str]:
    """Headers as each vendor signs ``body`` with the configured secret (or a wrong one)."""
    secret = {"github": "gh-secret", "gitlab": "gl-secret", "pagerduty": "pd-secret"}.get(
        kind, "jira-secret"
    ) + ("x" if wrong else "")
    if kind == "github":
        return {
            "X-Hub-Signature-256": f"sha256={hex_hmac(secret, body)}",
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": "pull_request",
        }
    if kind == "gitlab":
        return {"X-Gitlab-Token": secret, "Idempotency-Key": delivery, "X-Gitlab-Event": "x"}
    if kind == "pagerduty":
        return {"X-PagerDuty-Signature": f"v1={hex_hmac(secret, body)}", "X-Webhook-Id": delivery}
    return {
        "X-Hub-Signature": f"sha256={hex_hmac(secret, body)}",
        "X-Atlassian-Webhook-Identifier": delivery,
    }


VENDORS = [
    ("github", "github"),
    ("gitlab", "gitlab-web"),
    ("pagerduty", "pagerduty"),
    ("jira", "jira"),
]


def deliveries(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, delivery_id FROM webhook_deliveries"))
        return sorted((row.source, row.delivery_id) for row in rows)


@pytest.mark.parametrize(("kind", "name"), VENDORS)
def test_a_verified_delivery_is_accepted_and_hints_its_source_once(
    app: Wsgi, sink: Sink, runtime: Runtime, kind: str, name: str
) -> None:
    answer = call(app, f"/webhooks/{name}", headers=signed(kind, "d-1"))

    assert answer == (202, {"accepted": True})
    assert sink.hints == [(name, NOW)]
    assert deliveries(runtime.engine) == [(name, "d-1")]
    assert load_webhook_health(runtime.engine)[f"alpha/{name}"].last_received_at == NOW


@pytest.mark.parametrize(("kind", "name"), VENDORS)
def test_a_replayed_delivery_is_answered_without_a_second_hint(
    app: Wsgi, sink: Sink, kind: str, name: str
) -> None:
    call(app, f"/webhooks/{name}", headers=signed(kind, "d-1"))

    replay = call(app, f"/webhooks/{name}", headers=signed(kind, "d-1"))
    other = call(app, f"/webhooks/{name}", headers=signed(kind, "d-2"))

    assert replay == (200, {"duplicate": True})
    assert other[0] == 202
    assert sink.hints == [(name, NOW), (name, NOW)]  # d-1 once, d-2 once


@pytest.mark.parametrize(("kind", "name"), VENDORS)
def test_a_bad_signature_is_401_and_stores_nothing(
    app: Wsgi, sink: Sink, runtime: Runtime, kind: str, name: str
) -> None:
    wrong = call(app, f"/webhooks/{name}", headers=signed(kind, "d-1", wrong=True))
    unsigned = call(app, f"/webhooks/{name}", headers={"X-GitHub-Delivery": "d-1"})

    assert wrong == unsigned == (401, {"error": "invalid signature"})
    assert sink.hints == []
    assert deliveries(runtime.engine) == []
    assert load_webhook_health(runtime.engine) == {}


@pytest.mark.parametrize(("kind", "name"), [v for v in VENDORS if v[0] != "gitlab"])
def test_a_body_changed_after_signing_is_401(app: Wsgi, sink: Sink, kind: str, name: str) -> None:
    answer = call(app, f"/webhooks/{name}", body=BODY + b" ", headers=signed(kind, "d-1"))

    assert answer == (401, {"error": "invalid signature"})
    assert sink.hints == []


def test_a_signature_for_another_source_is_refused(app: Wsgi, sink: Sink) -> None:
    # GitHub-signed with the GitHub secret, sent to the Jira source's URL.
    headers = {"X-Hub-Signature": f"sha256={hex_hmac('gh-secret')}"}

    assert call(app, "/webhooks/jira", headers=headers)[0] == 401
    assert sink.hints == []


def test_a_shared_source_records_every_teams_arrival(app: Wsgi, runtime: Runtime) -> None:
    call(app, "/webhooks/jira", headers=signed("jira", "d-1"))

    health = load_webhook_health(runtime.engine)
    assert sorted(health) == ["alpha/jira", "beta/jira"]
    assert {h.last_received_at for h in health.values()} == {NOW}


def test_jira_data_center_without_signing_uses_the_secret_in_the_url(app: Wsgi, sink: Sink) -> None:
    assert call(app, "/webhooks/jira", query="secret=guess")[0] == 401
    assert call(app, "/webhooks/jira", query="secret=jira-secret") == (202, {"accepted": True})
    assert call(app, "/webhooks/jira", query="secret=jira-secret") == (200, {"duplicate": True})
    assert sink.hints == [("jira", NOW)]  # the same body again is the same delivery


@pytest.mark.parametrize("name", ["unknown", "no-hook", "blank-hook", ""])
def test_an_unknown_source_or_one_without_a_secret_is_404(app: Wsgi, sink: Sink, name: str) -> None:
    answer = call(app, f"/webhooks/{name}", headers=signed("github", "d-1"))

    assert answer == (404, {"error": "not found"})
    assert sink.hints == []


def test_other_methods_get_405_and_other_paths_404(app: Wsgi) -> None:
    assert call(app, "/webhooks/github", method="GET") == (405, {"error": "use POST"})
    assert call(app, "/slack/events", headers=signed("github", "d-1"))[0] == 404


def test_an_oversized_body_is_413(app: Wsgi, sink: Sink) -> None:
    body = b"x" * ((1 << 20) + 1)

    answer = call(app, "/webhooks/github", body=body, headers=signed("github", "d-1", body))

    assert answer == (413, {"error": "request body too large"})
    assert sink.hints == []


def test_a_ping_proves_the_hook_without_a_hint(app: Wsgi, sink: Sink, runtime: Runtime) -> None:
    headers = {**signed("github", "d-ping"), "X-GitHub-Event": "ping"}

    assert call(app, "/webhooks/github", headers=headers) == (202, {"accepted": True})
    assert sink.hints == []
    assert load_webhook_health(runtime.engine)["alpha/github"].last_received_at == NOW


def test_a_signed_body_that_is_not_json_is_still_a_hint(app: Wsgi, sink: Sink) -> None:
    body = b"<not json>"

    answer = call(app, "/webhooks/pagerduty", body=body, headers=signed("pagerduty", "", body))

    assert answer[0] == 202
    assert sink.hints == [("pagerduty", NOW)]


def test_a_database_that_cannot_remember_gets_503_and_no_hint(
    app: Wsgi, sink: Sink, runtime: Runtime
) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text("DROP TABLE webhook_deliveries"))

    answer = call(app, "/webhooks/github", headers=signed("github", "d-1"))

    assert answer == (503, {"error": "try again later"})
    assert sink.hints == []


def test_logs_name_the_delivery_and_never_the_secret_or_signature(
    app: Wsgi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = signed("github", "d-42")

    call(app, "/webhooks/github", headers=headers)
    call(app, "/webhooks/github", body=b"{}", headers=headers)  # refused
    call(app, "/webhooks/jira", query="secret=jira-secret")

    logged = caplog.text
    assert "d-42" in logged and "pull_request" in logged and "github" in logged
    for secret in [*SECRETS.values(), hex_hmac("gh-secret")]:
        assert secret not in logged


# --- over loopback HTTP ---------------------------------------------------------------------


@pytest.fixture
def served(app: Wsgi) -> Iterator[str]:
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_declared_oversized_body_is_refused_before_it_is_sent(served: str, sink: Sink) -> None:
    host, port = served.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 50000000\r\nX-GitHub-Delivery: d-1\r\n\r\n"
        )
        status_line = conn.makefile("rb").readline()

    assert status_line.split()[1] == b"413"
    assert sink.hints == []


def test_real_requests_verify_over_http(served: str, sink: Sink) -> None:
    url = f"http://{served}/webhooks/gitlab-web"

    first = requests.post(url, data=BODY, headers=signed("gitlab", "k-1"), timeout=5)
    again = requests.post(url, data=BODY, headers=signed("gitlab", "k-1"), timeout=5)
    wrong = requests.post(url, data=BODY, headers={"X-Gitlab-Token": "nope"}, timeout=5)

    assert (first.status_code, again.json(), wrong.status_code) == (202, {"duplicate": True}, 401)
    assert sink.hints == [("gitlab-web", NOW)]


def test_http_mode_serves_webhooks_beside_slack_events(
    harness: BotHarness, runtime: Runtime, sink: Sink
) -> None:
    server = make_http_server(wsgi_app(harness.bot, webhook_app(runtime, sink)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        hook = requests.post(
            f"{base}/webhooks/github", data=BODY, headers=signed("github", "m"), timeout=5
        )
        slack = requests.post(f"{base}/slack/events", data=b"{}", timeout=5)
        health = requests.get(f"{base}/health", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    assert (hook.status_code, slack.status_code, health.status_code) == (202, 401, 200)
    assert sink.hints == [("github", NOW)]


def test_deliveries_a_week_old_are_forgotten(runtime: Runtime, sink: Sink) -> None:
    call(webhook_app(runtime, sink), "/webhooks/github", headers=signed("github", "d-1"))
    runtime.clock = lambda: NOW + timedelta(days=8)

    answer = call(webhook_app(runtime, sink), "/webhooks/github", headers=signed("github", "d-1"))

    assert answer[0] == 202
    assert [at for _, at in sink.hints] == [NOW, NOW + timedelta(days=8)]
