"""A vendor that echoes the credential back never gets it printed, stored or posted.

Jira (among others) may quote the request's ``Authorization`` header or the token in its error
body. A loopback server that does just that stands in for the vendor; ``vsm sync`` and
``vsm check-config`` print its error, the sync stores it in the source's health, ``/vsm status``
and the admin DM show that. None of them may hold any configured secret in any form it travels
in: plain, Basic-auth (``email:api_token``, ``user:password``), Bearer, URL- or JSON-escaped, or
cut short by a truncated error body.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, SecretStr

from bot.cli import cli
from bot.redact import MIN_FRAGMENT_CHARS, REDACTED, protect_logs, redact, secret_values
from bot.slack.answering.blocks import Message
from bot.slack.answering.render import render_status
from bot.slack.answering.render_alerts import render_admin_health
from storage.db import make_engine
from storage.health import SourceHealth, load_health

EMAIL = "bot@acme.example"
API_TOKEN = "ATATT3xFf+G/z=cloud-s3cret"
PAT = "NjE0MzI5ODc2NTQz-dc-pat-s3cret"
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def echo_body(authorization: str, token: str, pad: int) -> str:
    """An error body quoting the header, the token and its URL encoding, after ``pad`` chars."""
    message = (
        f"{'x' * pad}Authorization: {authorization} rejected for token {token} "
        f"(as sent: token={quote(token, safe='')})"
    )
    return json.dumps({"errorMessages": [message]})


class EchoServer:
    """A loopback 'Jira' that answers 401 to everything, echoing the credential it was sent."""

    def __init__(self, token: str, pad: int) -> None:
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization", "")
                body = echo_body(authorization, echo.token, echo.pad).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.token, self.pad = token, pad
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


CREDENTIALS = {
    "cloud": ({"email": EMAIL, "api_token": API_TOKEN}, API_TOKEN, b64(f"{EMAIL}:{API_TOKEN}")),
    "datacenter": ({"token": PAT}, PAT, PAT),
}
QUOTED_BODY_CHARS = 200
"""The shared HTTP client quotes this much of an error body."""


@pytest.fixture(
    params=[("cloud", False), ("datacenter", False), ("cloud", True), ("datacenter", True)]
)
def vendor(request: pytest.FixtureRequest) -> Iterator[tuple[str, EchoServer]]:
    """A deployment and its echoing server (``cut``: the quoted body ends inside the secret)."""
    deployment, cut = request.param
    _, token, sent = CREDENTIALS[deployment]
    pad = QUOTED_BODY_CHARS - echo_body(sent, token, 0).index(sent) - 15 if cut else 0
    server = EchoServer(token, pad)
    yield deployment, server
    server.close()


def posted(message: Message) -> str:
    """All a Slack message carries: fallback text and blocks."""
    return json.dumps(message.as_kwargs())


def write_config(tmp_path: Path, deployment: str, url: str) -> tuple[Path, dict[str, str]]:
    auth = CREDENTIALS[deployment][0]
    names = {key: f"JIRA_{key.upper()}" for key in auth}
    source = {"type": "jira", "url": url, "project": "PAY", "max_retries": 0}
    source.update({key: f"${{{names[key]}}}" for key in auth})
    config = {
        "database": f"sqlite:///{tmp_path / 'vsm.db'}",
        "teams": [{"name": "payments", "sources": [source]}],
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, {names[key]: value for key, value in auth.items()}


def leaks(text: str, deployment: str) -> list[str]:
    """Every form of the deployment's secret found in ``text`` (line breaks ignored)."""
    _, token, sent = CREDENTIALS[deployment]
    joined = re.sub(r"\n\s*", "", text)  # Rich wraps long lines, folding long words
    cut = MIN_FRAGMENT_CHARS
    forms = {token, sent, quote(token, safe=""), token[:cut], sent[:cut], token[-cut:], sent[-cut:]}
    return sorted(form for form in forms if form in text or form in joined)


def test_an_echoed_credential_is_never_printed_stored_or_shown(
    vendor: tuple[str, EchoServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    deployment, server = vendor
    config, env = write_config(tmp_path, deployment, server.url)
    caplog.set_level(logging.DEBUG)

    synced = CliRunner().invoke(cli, ["--config", str(config), "sync"], env=env)
    checked = CliRunner().invoke(cli, ["--config", str(config), "check-config"], env=env)

    assert synced.exit_code == 1 and checked.exit_code == 1, synced.output + checked.output
    assert "HTTP 401" in synced.output and "HTTP 401" in checked.output
    (health,) = load_health(make_engine(f"sqlite:///{tmp_path / 'vsm.db'}"))
    assert health.last_error is not None and REDACTED in health.last_error
    shown = {
        "vsm sync": synced.output,
        "vsm check-config": checked.output,
        "source_health.last_error": health.last_error,
        "/vsm status": posted(render_status("payments", [health], NOW, timedelta(hours=6))),
        "admin DM": posted(render_admin_health(health, "failed 3 syncs in a row")),
        "logs": caplog.text,
    }
    assert {where: leaks(text, deployment) for where, text in shown.items()} == {
        where: [] for where in shown
    }


class _Site(BaseModel):
    url: str
    email: str
    api_token: SecretStr


class _Deployment(BaseModel):
    database: str
    sites: list[_Site]


def test_secret_values_include_basic_auth_and_url_passwords() -> None:
    config = _Deployment(
        database="postgresql+psycopg://vsm:p%40ss-w0rd-s3cret@db.internal/vsm",
        sites=[_Site(url="https://jira.example", email=EMAIL, api_token=SecretStr(API_TOKEN))],
    )

    values = set(secret_values(config))

    assert {API_TOKEN, b64(f"{EMAIL}:{API_TOKEN}")} <= values
    assert {"p@ss-w0rd-s3cret", "p%40ss-w0rd-s3cret", b64("vsm:p@ss-w0rd-s3cret")} <= values
    assert EMAIL not in values and "https://jira.example" not in values


@pytest.mark.parametrize(
    "form",
    [
        API_TOKEN,
        quote(API_TOKEN, safe=""),
        quote(API_TOKEN),
        API_TOKEN.replace("/", "\\/"),
        repr(API_TOKEN.replace("=", "\\"))[1:-1],
        b64(f"{EMAIL}:{API_TOKEN}"),
        quote(b64(f"{EMAIL}:{API_TOKEN}"), safe=""),
        API_TOKEN[:12],
    ],
)
def test_every_form_a_secret_travels_in_is_redacted(form: str) -> None:
    secrets = [API_TOKEN, API_TOKEN.replace("=", "\\"), b64(f"{EMAIL}:{API_TOKEN}")]

    text = redact(f"Jira said: '{form}'; check the token", secrets)

    assert text == f"Jira said: '{REDACTED}'; check the token"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", f"Authorization: Bearer {REDACTED}"),
        ('"authorization":"Basic Ym90OmFub3RoZXItdG9rZW4="', f'"authorization":"Basic {REDACTED}"'),
        ("Authorization: Token token=y_NbAkKc66ryYTWUXYEu", f"Authorization: Token {REDACTED}"),
        ("PRIVATE-TOKEN: glpat-1234567890abcdefghij", f"PRIVATE-TOKEN: {REDACTED}"),
        ("Basic authentication with passwords is deprecated", None),
        ("a Bearer token is required", None),
        ("sync of payments/jira failed: HTTP 401", None),
    ],
)
def test_credentials_after_an_auth_scheme_are_redacted_even_unknown(
    text: str, expected: str | None
) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_short_prefixes_and_ordinary_words_survive() -> None:
    protect_logs(["postgres-admin-s3cret"])

    assert redact("postgres refused the connection") == "postgres refused the connection"
    assert redact("token postgres-adm") == f"token {REDACTED}"


def test_an_error_stored_before_scrubbing_is_scrubbed_when_shown() -> None:
    """Rows written by an older vsm may hold a secret: /vsm status and the admin DM redact it."""
    leaked = "HTTP 401 from jira: Authorization: Bearer pat-0123456789abcdef echoed back"
    at = datetime(2026, 11, 25, tzinfo=UTC)
    health = SourceHealth("payments/jira", "payments", "jira", at, None, at, leaked, 3, 0, 0, [])

    shown = [
        json.dumps(render_status("payments", [health], at, timedelta(hours=2)).as_kwargs()),
        json.dumps(render_admin_health(health, "failing").as_kwargs()),
    ]

    assert all("pat-0123456789abcdef" not in text for text in shown)
    assert all(REDACTED in text for text in shown)
