"""Real ``vsm serve --http`` processes for the scale-out and fault tests (and the benchmark).

:class:`BotProcess` starts ``vsm --config <app.yaml> -v serve --http --port 0`` with its output
in a log file, learns its port from the "listening on" line, waits for log lines with a
deadline (polling, never sleeping for a fixed time), and kills, freezes or thaws it.
:func:`write_app_yaml` writes an app.yaml with N small demo teams, each in its own channel,
pointed at a fake Slack; :func:`schema_url` points a PostgreSQL URL at one schema.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import yaml
from sqlalchemy import Engine, text

from tests.conftest import DEMO_CONFIG
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import ADMIN, SIGNING_SECRET, signed_headers

VSM = Path(sys.executable).with_name("vsm")
LISTENING = re.compile(r"listening on http://[\d.]+:(\d+)/slack/events")
LEADS = "this process now runs the scheduler"
STANDS_BY = "standing by"
SQLITE_STANDBY = "SQLite is for one vsm process"


def schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    parts = urlsplit(url)
    option = urlencode({"options": f"-csearch_path={schema}"})
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


def channel_id(index: int) -> str:
    """The Slack id of team ``index``'s channel."""
    return f"C{index:08d}"


def write_app_yaml(
    path: Path,
    fake: FakeSlack,
    database: str,
    *,
    teams: int = 1,
    items: int = 40,
    alerts: bool = False,
    sources: Callable[[int], list[dict[str, Any]]] | None = None,
) -> Path:
    """An app.yaml with ``teams`` small teams, each with its own channel and daily digest.

    Teams take the packaged demo team's settings, a demo source of ``items`` items and a digest
    at 09:30 UTC; alerts are held unless ``alerts``. ``sources(index)`` gives team ``index``
    other sources: demo teams share their item ids, so in one database only the last one synced
    keeps its items, and several teams that need data of their own need other sources.
    """
    demo = yaml.safe_load(DEMO_CONFIG.read_text())["teams"][0]
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    config: dict[str, Any] = {
        "timezone": "UTC",
        "database": database,
        "slack": {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": fake.api_url,
            "admins": [ADMIN],
        },
        "teams": [
            {
                **demo,
                "name": f"team-{index:03d}",
                "channel": channel_id(index),
                "timezone": "UTC",
                # Alerts wait for working hours, and these have none: a channel's posts are
                # its digests (unless ``alerts``).
                "working_hours": {
                    "start": "00:00",
                    "end": "23:59" if alerts else "00:00",
                    "days": days,
                },
                "quiet_hours": None,
                "digest": {"daily": "09:30"},
                "sources": sources(index)
                if sources
                else [{"type": "demo", "seed": 7 + index, "items": items, "days": 180}],
            }
            for index in range(teams)
        ],
    }
    for index in range(teams):
        fake.add_channel(channel_id(index), f"team-{index:03d}")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def digest_rows(engine: Engine) -> list[Any]:
    """The digest sends in the database: (team, channel_id, period, state, ts), by period."""
    query = text(
        "SELECT team, channel_id, period, state, ts FROM slack_sends "
        "WHERE kind = 'digest_daily' ORDER BY period, team"
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


class BotProcess:
    """One ``vsm serve --http`` process on loopback, logging to ``log``."""

    def __init__(
        self,
        config: Path,
        log: Path,
        env: dict[str, str] | None = None,
        chart_processes: int = 0,
        *,
        wait: bool = True,
    ) -> None:
        self.log = log
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "400",  # rich logs one line per record, never wrapped
            "SKIP_SLACK_SDK_WARNING": "1",
            **(env or {}),
        }
        command = [str(VSM), "--config", str(config), "-v", "serve", "--http"]
        command += ["--host", "127.0.0.1", "--port", "0", "--chart-processes", str(chart_processes)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=environment
            )
        self.port = 0
        if wait:
            self.wait_listening()

    def wait_listening(self) -> None:
        """Wait until it serves (``wait=False`` leaves that to the caller); learn its port."""
        self.port = int(self.wait_for(LISTENING).group(1))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        """Wait until the log matches ``pattern`` (fails early if the process exits)."""
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output())
            if match:
                return match
            if self.process.poll() is not None:
                raise AssertionError(f"vsm exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {regex.pattern!r} within {timeout}s:\n{self.output()}")
            time.sleep(0.02)

    def leads(self) -> bool:
        return LEADS in self.output()

    def command(self, text_: str, user: str = ADMIN, channel: str = "C00000000") -> int:
        """Send a signed ``/vsm`` slash command; the HTTP status."""
        body = urlencode(
            {
                "command": "/vsm",
                "text": text_,
                "user_id": user,
                "channel_id": channel,
                "team_id": "T0FAKE001",
                "response_url": "http://127.0.0.1:9/unused",
                "trigger_id": uuid.uuid4().hex,  # each request Slack signs is unique
            }
        ).encode()
        headers = signed_headers(body, "application/x-www-form-urlencoded")
        return requests.post(
            f"{self.url}/slack/events", data=body, headers=headers, timeout=10
        ).status_code

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP: the process stops making progress but keeps its sockets open."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: a frozen process goes on where it stopped."""
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> int:
        """SIGTERM (a frozen process is thawed first) and wait; the exit status."""
        if self.process.poll() is None:
            self.thaw()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_until(condition: Any, timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``condition()`` until it is truthy (with a deadline); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)
