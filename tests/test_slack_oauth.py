"""The OAuth install flow over HTTP with the SQLAlchemy stores, and tokens encrypted at rest."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from pydantic import SecretStr
from sqlalchemy import text

from bot.slack.app import SlackSetupError, build_bot
from bot.slack.state.sealed_store import SealError, TokenCipher
from tests.fake_slack import FakeSlack
from tests.slack_harness import TEAM_CHANNEL, BotHarness, demo_config, demo_runtime

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-for-tests"
ENCRYPTION_KEY = TokenCipher.generate()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def harness(fake: FakeSlack, tmp_path) -> Iterator[BotHarness]:
    config = demo_config(
        fake,
        bot_token=None,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        encryption_key=SecretStr(ENCRYPTION_KEY),
    )
    bot = BotHarness(fake, demo_runtime(config, tmp_path))
    yield bot
    bot.close()


def install(harness: BotHarness) -> requests.Response:
    """Open the install page, then come back to the redirect URL as Slack sends the browser."""
    base = harness.url.removesuffix("/slack/events")
    page = requests.get(f"{base}/slack/install", timeout=5)
    assert page.status_code == 200
    state = re.search(r"state=([\w-]+)", page.text)
    assert state, page.text
    assert f"client_id={CLIENT_ID}" in page.text
    # The state cookie is Secure (https only); a browser sends it back to the redirect URL.
    cookie = page.headers["Set-Cookie"].split(";")[0]
    return requests.get(
        f"{base}/slack/oauth_redirect",
        params={"code": "code-1", "state": state.group(1)},
        headers={"Cookie": cookie},
        timeout=5,
    )


def test_installing_stores_an_encrypted_token_that_then_answers_commands(harness, fake) -> None:
    done = install(harness)

    assert done.status_code == 200, done.text
    (exchange,) = fake.calls_to("oauth.v2.access")
    assert exchange.params["code"] == "code-1"
    token = exchange.reply["access_token"]
    with harness.runtime.engine.connect() as conn:
        stored = [
            *conn.execute(text("SELECT bot_token FROM slack_bots")).scalars(),
            *conn.execute(text("SELECT bot_token FROM slack_installations")).scalars(),
        ]
    assert len(stored) == 2
    assert all(s.startswith("fernet:") and token not in s for s in stored)
    assert TokenCipher(ENCRYPTION_KEY).unseal(stored[0]) == token

    reply = harness.reply("status", workspace="T0INSTALL")

    assert "payments/demo" in str(reply["blocks"])
    auth = fake.calls_to("auth.test")[-1]
    assert auth.headers["authorization"] == f"Bearer {token}"
    assert harness.bot.deps.clients.token("T0INSTALL") == token, "jobs get the token too"


def test_a_workspace_that_did_not_install_is_told_to(harness, fake) -> None:
    response, name = harness.command("status")

    assert response.status_code == 200
    assert "install" in fake.wait_for("response", name=name)[0].params["text"].lower()


def test_encrypted_tokens_round_trip_and_a_wrong_key_is_explained() -> None:
    cipher = TokenCipher(ENCRYPTION_KEY)
    sealed = cipher.seal("xoxb-123")

    assert sealed != cipher.seal("xoxb-123"), "a fresh IV each time"
    assert cipher.unseal(sealed) == "xoxb-123"
    assert cipher.seal(sealed) == sealed and cipher.unseal("plain") == "plain"
    with pytest.raises(SealError, match="vsm keys rotate"):
        TokenCipher(TokenCipher.generate()).unseal(sealed)


def test_oauth_without_an_encryption_key_does_not_start(fake, tmp_path) -> None:
    base = {"bot_token": None, "client_id": CLIENT_ID, "client_secret": SecretStr(CLIENT_SECRET)}
    for key, expected in ((None, "vsm keys generate"), ("not-a-key", "not a Fernet key")):
        config = demo_config(fake, **base, encryption_key=SecretStr(key) if key else None)
        runtime = demo_runtime(config, tmp_path)
        with pytest.raises(SlackSetupError, match=expected) as refused:
            build_bot(runtime, http=True)
        assert "VSM_ENCRYPTION_KEY" in str(refused.value)
        runtime.engine.dispose()
