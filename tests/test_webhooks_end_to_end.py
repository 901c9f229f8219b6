"""A vendor event reaches Slack through a webhook: fake GitHub → signed POST → sync → card.

Everything runs for real on loopback: the fake GitHub, the fake Slack, the webhook receiver
served over HTTP by the same threaded server as ``vsm serve --http``, and :class:`Hints` running
the source's sync and the team's alert sweep. No periodic sync runs. ``benchmarks/webhooks.py``
builds its 20 teams with the helpers here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from bot.config import AppConfig, load_config
from bot.runtime import Runtime, open_runtime
from bot.slack.deps import SlackDeps, build_deps
from bot.slack.wsgi import make_http_server
from bot.sync import sync_teams
from bot.webhooks.hints import Hints
from bot.webhooks.receiver import webhook_app
from tests.conftest import NOW
from tests.fake_github import FakeGitHub, pr_node, review
from tests.fake_slack import BOT_TOKEN, FakeSlack

GITHUB_TOKEN = "ghp-webhook-test-token"
WEBHOOK_SECRET = "whsec-github-test"
TEAM_CHANNEL = "C0TEAM0001"


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def team_name(index: int) -> str:
    return f"team-{index:02d}"


def repo_name(index: int) -> str:
    return f"acme/repo-{index:02d}"


def channel_id(index: int) -> str:
    return f"C0TEAM{index:04d}"


def write_config(folder: Path, github: FakeGitHub, slack: FakeSlack, teams: int) -> AppConfig:
    """app.yaml for ``teams`` teams, each with its channel and one GitHub repository.

    Team ``i``'s source is named ``repo-i`` (its webhook URL is ``/webhooks/repo-i``) and signs
    with :data:`WEBHOOK_SECRET`; the channels are added to the fake Slack.
    """
    blocks = []
    for index in range(1, teams + 1):
        slack.add_channel(channel_id(index), team_name(index))
        blocks.append(
            f"""
              - name: {team_name(index)}
                channel: "#{team_name(index)}"
                projects: [T{index}]
                sources:
                  - type: github
                    name: repo-{index:02d}
                    token: ${{GITHUB_TOKEN}}
                    webhook_secret: ${{GITHUB_WEBHOOK_SECRET}}
                    api_url: {github.url}
                    repos: [{repo_name(index)}]
                    workflow_runs: false
                workflow:
                  To Do: backlog
                  In Progress: active
                  Done: done
            """
        )
    text = f"""
        timezone: UTC
        database: sqlite:///{folder / "vsm.db"}
        slack:
          bot_token: {BOT_TOKEN}
          signing_secret: not-used-here
          api_url: {slack.api_url}
        teams:
        """
    path = folder / "app.yaml"
    path.write_text(
        textwrap.dedent(text) + "".join(textwrap.indent(textwrap.dedent(b), "  ") for b in blocks)
    )
    env = {"GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET}
    return load_config(path, env=env)


def merged_pr(number: int, repo: str, at: datetime) -> dict[str, object]:
    """A PR reviewed and merged before ``at``: no finding."""
    return pr_node(
        number,
        title=f"Merged change {number}",
        created=iso(at - timedelta(days=3)),
        updated=iso(at - timedelta(days=2)),
        state="MERGED",
        merged=iso(at - timedelta(days=2)),
        merge_sha=f"{number:040x}",
        timeline=[review("APPROVED", iso(at - timedelta(days=2, hours=2)), "bob")],
        repo=repo,
    )


def waiting_pr(number: int, repo: str, opened: datetime, updated: datetime) -> dict[str, object]:
    """An open PR nobody has reviewed since ``opened``."""
    return pr_node(
        number,
        title=f"Change {number} waits for a reviewer",
        created=iso(opened),
        updated=iso(updated),
        repo=repo,
    )


def github_delivery(
    event: str = "pull_request", delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A GitHub webhook body and its headers, signed as GitHub does (``X-Hub-Signature-256``)."""
    body = json.dumps({"action": "opened", "number": 1}).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={digest}",
    }
    return body, headers


class WebhookServer:
    """The receiver on a loopback port, handing hints to ``hints``."""

    def __init__(self, runtime: Runtime, hints: Hints) -> None:
        self.server = make_http_server(webhook_app(runtime, hints), "127.0.0.1", 0)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, source: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhooks/{source}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[FakeGitHub, FakeSlack, SlackDeps, WebhookServer]]:
    with FakeGitHub(token=GITHUB_TOKEN) as github, FakeSlack() as slack:
        config = write_config(tmp_path, github, slack, teams=1)
        runtime = open_runtime(config, clock=lambda: NOW)
        runtime.sleep = lambda seconds: None
        deps = build_deps(runtime)
        hints = Hints(deps)
        hints.start()
        server = WebhookServer(runtime, hints)
        try:
            yield github, slack, deps, server
        finally:
            server.close()
            hints.stop()
            deps.workers.shutdown(wait=True)
            runtime.engine.dispose()


def test_a_signed_github_webhook_brings_the_card_without_the_periodic_sync(world) -> None:
    github, slack, deps, server = world
    repo = github.repo(repo_name(1))
    repo.prs[1] = merged_pr(1, repo_name(1), NOW)
    sync_teams(deps.runtime)  # what the bot knew before the event
    assert slack.calls_to("chat.postMessage") == []

    # At the vendor: a PR opened 30 h ago (past the 24 h agreement) is now ready for review.
    repo.prs[2] = waiting_pr(2, repo_name(1), NOW - timedelta(hours=30), NOW - timedelta(minutes=1))
    github.reset_log()
    body, headers = github_delivery()
    answer = requests.post(server.url("repo-01"), data=body, headers=headers, timeout=10)

    assert answer.status_code == 202
    (card,) = slack.wait_for("chat.postMessage")
    assert card.params["channel"] == channel_id(1)
    assert "acme/repo-01#2> has waited 30 hours for a first review" in card.block_text
    assert github.count(method="POST") >= 1  # the PR was fetched through the source's GraphQL
