"""The bot behind a real WSGI server: signing, events, App Home, and the manifest in step."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
import requests
import yaml
from click.testing import CliRunner

from bot.cli import cli
from bot.slack import ids
from bot.slack.manifest import build_manifest
from bot.wsgi import create
from tests.conftest import DEMO_CONFIG
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import (
    SIGNING_SECRET,
    TEAM_CHANNEL,
    BotHarness,
)


def test_a_bad_signature_gets_401(harness: BotHarness) -> None:
    response, _ = harness.command("flow", secret="not-the-signing-secret")

    assert response.status_code == 401
    assert harness.fake.calls_to("response") == []


def test_a_stale_timestamp_gets_401(harness: BotHarness) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60

    response, _ = harness.command("flow", timestamp=six_minutes_ago)

    assert response.status_code == 401


def test_a_fresh_signed_request_is_accepted(harness: BotHarness) -> None:
    four_minutes_ago = int(time.time()) - 4 * 60
    assert harness.command("help", timestamp=four_minutes_ago)[0].status_code == 200


def test_health_route_answers_without_signature(harness: BotHarness) -> None:
    response = requests.get(harness.url.replace("/slack/events", "/health"), timeout=5)
    assert response.status_code == 200
    assert response.text == "ok\n"


def test_opening_the_home_tab_publishes_the_overview(harness: BotHarness) -> None:
    def users_conversations(params: dict) -> dict:  # the viewer is in the team's channel
        return {"ok": True, "channels": [{"id": TEAM_CHANNEL}], "response_metadata": {}}

    harness.fake._users_conversations = users_conversations  # type: ignore[attr-defined]
    response = harness.event(
        {"type": ids.APP_HOME_OPENED, "user": "U0VIEWER", "tab": "home", "channel": "D0VIEWER"}
    )

    assert response.status_code == 200
    publish = harness.fake.wait_for("views.publish")[0]
    assert publish.params["user_id"] == "U0VIEWER"
    text = publish.block_text
    for label in ("WIP", "Cycle time p85", "Aging", "Blocked", "Last sync", "Digests"):
        assert label in text
    assert "daily 09:30" in text  # the app.yaml schedule


def test_the_messages_tab_does_not_publish_a_view(harness: BotHarness) -> None:
    harness.event({"type": ids.APP_HOME_OPENED, "user": "U0VIEWER", "tab": "messages"})
    harness.command("help")  # a later request, to be sure the event was processed
    assert harness.fake.calls_to("views.publish") == []


def test_rate_limited_calls_are_retried_after_retry_after(harness: BotHarness) -> None:
    harness.fake.fail_next("conversations.open", status=429, retry_after=7)

    harness.reply("chart aging")

    opens = harness.fake.calls_to("conversations.open")
    assert [c.status for c in opens] == [429, 200]
    waits = harness.runtime.extra["waits"]
    assert any(7 <= w < 8 for w in waits), waits


def manifest_requests(harness: BotHarness, manifest: dict) -> list[requests.Response]:
    """One signed request for everything the manifest promises Slack will send."""
    responses = []
    for command in manifest["features"]["slash_commands"]:
        body = urlencode(
            {
                "command": command["command"],
                "text": "help",
                "user_id": "U1",
                "channel_id": TEAM_CHANNEL,
                "response_url": harness.fake.response_url("m"),
            }
        ).encode()
        responses.append(harness.send(body, "application/x-www-form-urlencoded"))
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        responses.append(harness.event({"type": event, "user": "U1", "tab": "home"}))
    return responses


def test_everything_in_the_manifest_is_handled(harness: BotHarness) -> None:
    manifest = build_manifest(socket_mode=False, public_url="https://vsm.example.com")

    responses = manifest_requests(harness, manifest)

    assert [r.status_code for r in responses] == [200] * len(responses)
    for action_id in ids.ACTIONS:
        assert harness.click(action_id, "0")[0].status_code == 200


def test_what_the_manifest_does_not_promise_is_not_handled(harness: BotHarness) -> None:
    manifest = build_manifest(socket_mode=True)
    manifest["features"]["slash_commands"][0]["command"] = "/not-ours"
    manifest["settings"]["event_subscriptions"]["bot_events"] = ["reaction_added"]

    responses = manifest_requests(harness, manifest)

    assert [r.status_code for r in responses] == [404, 404]
    assert harness.click("not_our_button", "0")[0].status_code == 404


def test_manifest_modes() -> None:
    socket = build_manifest(socket_mode=True)
    http = build_manifest(socket_mode=False, public_url="https://vsm.example.com/", oauth=True)

    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in json.dumps(socket)
    events_url = "https://vsm.example.com/slack/events"
    assert http["features"]["slash_commands"][0]["url"] == events_url
    assert http["settings"]["interactivity"]["request_url"] == events_url
    assert http["oauth_config"]["redirect_urls"] == ["https://vsm.example.com/slack/oauth_redirect"]
    assert set(ids.OAUTH_EVENTS) <= set(http["settings"]["event_subscriptions"]["bot_events"])
    with pytest.raises(ValueError, match="public URL"):
        build_manifest(socket_mode=False)


def test_the_manifest_asks_for_the_scopes_to_match_people_by_email() -> None:
    scopes = build_manifest(socket_mode=True)["oauth_config"]["scopes"]["bot"]
    assert {"users:read", "users:read.email"} <= set(scopes)  # Slack grants them together


def test_vsm_manifest_prints_yaml() -> None:
    result = CliRunner().invoke(cli, ["manifest", "--http", "https://vsm.example.com", "--oauth"])

    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert data == build_manifest(
        socket_mode=False, public_url="https://vsm.example.com", oauth=True
    )
    assert CliRunner().invoke(cli, ["manifest", "--oauth"]).exit_code == 2


def test_serve_says_which_settings_are_missing(tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'vsm.db'}"
    base = ["--config", str(DEMO_CONFIG), "--database", database, "serve"]

    socket_mode = CliRunner().invoke(cli, base, env={"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""})
    http = CliRunner().invoke(cli, [*base, "--http"])

    assert socket_mode.exit_code == 1
    assert "SLACK_APP_TOKEN" in socket_mode.output and "SLACK_BOT_TOKEN" in socket_mode.output
    assert http.exit_code == 1
    assert "SLACK_SIGNING_SECRET" in http.output and "client_id" in http.output


def test_the_wsgi_factory_serves_any_wsgi_server(fake: FakeSlack, tmp_path) -> None:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["slack"] = {
        "bot_token": "${SLACK_BOT_TOKEN}",
        "signing_secret": "${SLACK_SIGNING_SECRET}",
        "api_url": "${VSM_SLACK_API_URL}",
    }
    config["database"] = f"sqlite:///{tmp_path / 'vsm.db'}"
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "VSM_SLACK_API_URL": fake.api_url,
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        application = create(str(path), scheduler=False, chart_processes=0)
    environ: dict = {"PATH_INFO": "/health", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    statuses: list[str] = []

    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))

    assert (statuses, body) == (["200 OK"], b"ok\n")
    assert fake.calls_to("auth.test"), "the token was checked at start"
