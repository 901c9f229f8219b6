"""Secrets never reach a log or the database in clear text; the encryption key rotates.

All logs (every logger, debug level) are captured during a full demo sync, an OAuth install,
slash commands, a failing and a working digest; no token, signing secret, client secret or
encryption key appears in them. Installed tokens are stored encrypted, and ``vsm keys rotate``
re-encrypts them under a new key so the old one can go.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.fernet import Fernet
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import Engine, String, Text, column, inspect, select, table

from bot.cli import cli
from bot.config import load_config
from bot.redact import REDACTED, protect_logs, redact
from bot.runtime import open_runtime
from bot.slack.delivering.jobs import post_digest
from bot.slack.state.sealed_store import SealedInstallationStore, SealError, TokenCipher
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import ADMIN, SIGNING_SECRET, TEAM_CHANNEL, BotHarness, demo_config
from tests.test_slack_oauth import CLIENT_ID, CLIENT_SECRET, install

KEY = TokenCipher.generate()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


def clear_values(engine: Engine, secret: str) -> list[str]:
    """Every text column of every table that holds ``secret`` in clear."""
    found = []
    tables = inspect(engine)
    with engine.connect() as conn:
        for table_name in tables.get_table_names():
            for column_info in tables.get_columns(table_name):
                if not isinstance(column_info["type"], String | Text):
                    continue
                query = select(table(table_name, column(column_info["name"])))
                for value in conn.execute(query).scalars():
                    if isinstance(value, str) and secret in value:
                        found.append(f"{table_name}.{column_info['name']}")
    return found


def test_no_secret_is_logged_during_sync_install_commands_and_digests(
    fake, tmp_path, caplog
) -> None:
    config = demo_config(
        fake,
        bot_token=None,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        encryption_key=SecretStr(KEY),
    )
    caplog.set_level(logging.DEBUG)
    runtime = open_runtime(config, database=f"sqlite:///{tmp_path / 'vsm.db'}", clock=lambda: NOW)
    runtime.sleep = lambda seconds: None
    sync_teams(runtime)
    bot = BotHarness(fake, runtime)
    workspace = "T0INSTALL"  # the fake's OAuth exchange installs into this workspace
    try:
        done = install(bot)
        bot.reply("flow", workspace=workspace)
        bot.reply("aging share", workspace=workspace)
        bot.reply("status", workspace=workspace)
        bot.reply("subscribe digest daily 08:00", user=ADMIN, workspace=workspace)
        bot.reply("chart aging", workspace=workspace)
        bot.command("flow", secret="wrong-secret")
        fake.fail_next("chat.postMessage", status=200, retry_after=None, error="invalid_auth")
        failed = post_digest(bot.bot.deps, "payments", TEAM_CHANNEL, workspace, "daily")
        sent = post_digest(bot.bot.deps, "payments", TEAM_CHANNEL, workspace, "daily")
    finally:
        bot.close()
    installed = fake.calls_to("oauth.v2.access")[0].reply["access_token"]

    assert (failed, sent, done.status_code) == ("failed", "sent", 200)
    records = caplog.records
    assert len(records) > 50, "debug logging was on"
    logged = "\n".join(
        [caplog.text, *(r.getMessage() for r in records), *(r.exc_text or "" for r in records)]
    )
    for secret in (BOT_TOKEN, installed, SIGNING_SECRET, CLIENT_SECRET, KEY):
        assert secret not in logged, f"{secret[:6]}... was logged"
    assert REDACTED in logged, "slack_sdk's debug logs carried tokens, and they were redacted"
    assert clear_values(runtime.engine, installed) == [], "installed tokens are not stored in clear"
    runtime.engine.dispose()


def test_redaction_covers_known_secrets_and_any_slack_token() -> None:
    protect_logs(["a-long-signing-secret", "short"])

    text = redact("xoxb-123-abc and xoxe.xoxp-1-AbC and a-long-signing-secret and short")

    assert text == f"{REDACTED} and {REDACTED} and {REDACTED} and short"


def write_config(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    data["database"] = f"sqlite:///{tmp_path / 'vsm.db'}"
    data["slack"] = {"client_id": CLIENT_ID, "encryption_key": "${VSM_ENCRYPTION_KEY:-}"}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def stored_bot(token: str, team: str) -> Bot:
    return Bot(
        app_id="A0FAKE",
        team_id=team,
        bot_token=token,
        bot_id="B0FAKE",
        bot_user_id="U0BOT",
        installed_at=1_790_000_000.0,
    )


def test_keys_generate_then_rotate_re_encrypts_every_token(tmp_path) -> None:
    runner = CliRunner()
    config = write_config(tmp_path)
    generated = runner.invoke(cli, ["keys", "generate"])
    assert generated.exit_code == 0
    new_key = generated.output.strip()
    Fernet(new_key.encode())  # a valid key
    engine = open_runtime(load_config(config, env={})).engine
    old = SealedInstallationStore(CLIENT_ID, engine, TokenCipher(KEY))
    old.create_tables()
    old.save_bot(stored_bot("xoxb-encrypted-with-the-old-key", "T1"))
    # A token written in clear by an older version is encrypted by the rotation too.
    legacy = SealedInstallationStore(CLIENT_ID, engine, TokenCipher(new_key))
    legacy.cipher = _PassThrough()
    legacy.save_bot(stored_bot("xoxb-stored-in-clear", "T2"))

    rotated = runner.invoke(
        cli,
        ["--config", str(config), "keys", "rotate"],
        env={"VSM_ENCRYPTION_KEY": f"{new_key},{KEY}"},
    )

    assert rotated.exit_code == 0, rotated.output
    assert re.search(r"Re-encrypted \d+ stored token", rotated.output)
    new_only = SealedInstallationStore(CLIENT_ID, engine, TokenCipher(new_key))
    for team, token in (("T1", "xoxb-encrypted-with-the-old-key"), ("T2", "xoxb-stored-in-clear")):
        found = new_only.find_bot(enterprise_id=None, team_id=team)
        assert found is not None and found.bot_token == token
    assert clear_values(engine, "xoxb-stored-in-clear") == []
    with pytest.raises(SealError, match="VSM_ENCRYPTION_KEY"):
        SealedInstallationStore(CLIENT_ID, engine, TokenCipher(KEY)).find_bot(
            enterprise_id=None, team_id="T1"
        )
    engine.dispose()


def test_keys_rotate_without_a_key_says_how_to_give_one(tmp_path) -> None:
    config = write_config(tmp_path)

    result = CliRunner().invoke(cli, ["--config", str(config), "keys", "rotate"], env={})

    assert result.exit_code == 1
    assert "VSM_ENCRYPTION_KEY=NEW,OLD" in result.output


class _PassThrough:
    """A cipher that stores in clear, as vsm-bot versions before encryption did."""

    def seal(self, value: str | None) -> str | None:
        return value

    def unseal(self, value: str | None) -> str | None:
        return value
