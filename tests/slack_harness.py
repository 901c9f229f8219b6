"""The bot over real HTTP against the fake Slack: config, signed requests, a running server.

``BotHarness`` syncs the demo team into a temp SQLite file (clock fixed at ``NOW``), builds the
Bolt app against :class:`~tests.fake_slack.FakeSlack`, serves it with the same threaded WSGI
server ``vsm serve --http`` uses, and sends slash commands, button clicks and events signed with
slack_sdk's :class:`~slack_sdk.signature.SignatureVerifier`, like Slack does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from bot.config import AppConfig, SlackConfig, load_config
from bot.runtime import Runtime, open_runtime
from bot.slack.app import SlackBot, build_bot
from bot.slack.wsgi import make_http_server, wsgi_app
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, WORKSPACE, FakeSlack

SIGNING_SECRET = "test-signing-secret"
ADMIN = "U0ADMIN01"
MEMBER = "U0MEMBER1"
TEAM_CHANNEL = "C0PAYMENTS"
TEAM_CHANNEL_NAME = "payments-flow"


def demo_config(fake: FakeSlack, **slack: Any) -> AppConfig:
    """The packaged demo config, pointed at the fake Slack, with one admin."""
    config = load_config(DEMO_CONFIG, env={})
    settings = {
        "bot_token": SecretStr(BOT_TOKEN),
        "signing_secret": SecretStr(SIGNING_SECRET),
        "api_url": fake.api_url,
        "admins": (ADMIN,),
        **slack,
    }
    return config.model_copy(update={"slack": SlackConfig(**settings)})


_TEMPLATES: dict[datetime, Path] = {}


def _synced_template(config: AppConfig, now: datetime) -> Path:
    """A SQLite file with the demo team synced as of ``now``, made once per test session."""
    if now not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="vsm-demo-"))
        runtime = open_runtime(config, database=f"sqlite:///{folder / 'vsm.db'}", clock=lambda: now)
        sync_teams(runtime)
        with runtime.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        runtime.engine.dispose()
        _TEMPLATES[now] = folder / "vsm.db"
    return _TEMPLATES[now]


def demo_runtime(
    config: AppConfig, folder: Path, clock: Callable[[], datetime] = lambda: NOW
) -> Runtime:
    """A runtime on its own copy of the synced demo database; waits are recorded, not slept."""
    shutil.copyfile(_synced_template(config, NOW), folder / "vsm.db")
    runtime = open_runtime(config, database=f"sqlite:///{folder / 'vsm.db'}", clock=clock)
    waits: list[float] = []
    runtime.sleep = waits.append
    runtime.extra["waits"] = waits
    return runtime


def thread_upload(fake: FakeSlack, channel: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The message posted in ``channel`` and the upload completed in its thread."""
    complete = fake.wait_for("files.completeUploadExternal")[0].params
    (post,) = [
        c.params for c in fake.calls_to("chat.postMessage") if c.params["channel"] == channel
    ]
    return post, complete


def signed_headers(
    body: bytes, content_type: str, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """Headers Slack would send with ``body``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


class BotHarness:
    """A running bot (HTTP) with the fake Slack behind it."""

    def __init__(self, fake: FakeSlack, runtime: Runtime, chart_processes: int = 0) -> None:
        self.fake = fake
        self.runtime = runtime
        self.bot: SlackBot = build_bot(runtime, http=True, chart_processes=chart_processes)
        self.server = make_http_server(wsgi_app(self.bot), "127.0.0.1", 0)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/slack/events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.bot.deps.workers.shutdown(wait=True)
        self.bot.close()
        self.session.close()

    def send(self, body: bytes, content_type: str, **sign: Any) -> requests.Response:
        """POST a signed request to /slack/events."""
        headers = signed_headers(body, content_type, **sign)
        return self.session.post(self.url, data=body, headers=headers, timeout=10)

    def command(
        self,
        text: str,
        *,
        user: str = MEMBER,
        channel: str = TEAM_CHANNEL,
        channel_name: str = TEAM_CHANNEL_NAME,
        workspace: str = WORKSPACE,
        **sign: Any,
    ) -> tuple[requests.Response, str]:
        """Run ``/vsm text``; return the HTTP response and the response_url name to wait on."""
        name = uuid.uuid4().hex
        body = urlencode(
            {
                "command": "/vsm",
                "text": text,
                "user_id": user,
                "user_name": user.lower(),
                "channel_id": channel,
                "channel_name": channel_name,
                "team_id": workspace,
                "team_domain": "fake",
                "response_url": self.fake.response_url(name),
                "trigger_id": "1.2.3",
                "api_app_id": "A0FAKE",
            }
        ).encode()
        return self.send(body, "application/x-www-form-urlencoded", **sign), name

    def reply(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Run a command and wait for its reply through the response_url."""
        response, name = self.command(text, **kwargs)
        assert response.status_code == 200, response.text
        return self.fake.wait_for("response", name=name)[0].params

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = MEMBER,
        channel: str = TEAM_CHANNEL,
        message_ts: str = "1.0",
    ) -> tuple[requests.Response, str]:
        """Click a button; return the HTTP response and the response_url name."""
        name = uuid.uuid4().hex
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": WORKSPACE},
            "team": {"id": WORKSPACE, "domain": "fake"},
            "api_app_id": "A0FAKE",
            "channel": {"id": channel, "name": TEAM_CHANNEL_NAME},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "message": {"ts": message_ts, "text": "alert"},
            "response_url": self.fake.response_url(name),
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b1",
                    "value": value,
                    "action_ts": "1.1",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.send(body, "application/x-www-form-urlencoded"), name

    def event(self, event: dict[str, Any]) -> requests.Response:
        """Deliver an Events API event."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": WORKSPACE,
                "api_app_id": "A0FAKE",
                "type": "event_callback",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "event": event,
            }
        ).encode()
        return self.send(body, "application/json")
