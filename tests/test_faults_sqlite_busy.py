"""SQLite busy: another process holds the write lock while the bot writes.

A brief lock is waited out (the busy timeout) and the write succeeds; a lock held past the
timeout gets a reply, and a log line, that name the database file and say what to do.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from bot.slack.delivering.jobs import post_digest
from bot.slack.deps import build_deps
from storage.sends import load_sends
from storage.slack_settings import load_subscriptions
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, TEAM_CHANNEL, BotHarness, demo_config, demo_runtime

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("CREATE TABLE IF NOT EXISTS holder_marks (n INTEGER)")
print("locked", flush=True)
if sys.argv[2] == "briefly":
    time.sleep(1.0)  # a slow writer in another program, not the test waiting
else:
    sys.stdin.readline()
connection.execute("COMMIT")
print("released", flush=True)
"""


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


def database(harness: BotHarness) -> Path:
    path = harness.runtime.engine.url.database
    assert path is not None
    return Path(path)


def hold_lock(path: Path, how: str) -> subprocess.Popen[str]:
    """Another process that takes the database's write lock ("briefly", or "until" told)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def assert_locked(path: Path) -> None:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        probe.execute("BEGIN IMMEDIATE")
    probe.close()


def short_busy_timeout(harness: BotHarness) -> None:
    """Give up after 0.2 s instead of 10 s (the same failure, sooner)."""
    engine = harness.runtime.engine
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=200"))
    engine.dispose()


def test_a_command_waits_for_a_brief_lock_and_succeeds(harness) -> None:
    holder = hold_lock(database(harness), "briefly")
    assert_locked(database(harness))

    reply = harness.reply("subscribe digest daily 08:00", user=ADMIN)

    assert reply["text"].startswith("Done"), reply
    assert [s.at for s in load_subscriptions(harness.runtime.engine)] == ["08:00"]
    assert holder.wait(timeout=30) == 0


def test_a_lock_held_too_long_gets_a_clear_reply_and_log(harness, caplog) -> None:
    short_busy_timeout(harness)
    holder = hold_lock(database(harness), "until")
    try:
        assert_locked(database(harness))
        with caplog.at_level(logging.WARNING):
            # The request cannot even be checked for replay: the ack itself says why.
            response, _ = harness.command("subscribe digest daily 08:00", user=ADMIN)
    finally:
        holder.communicate("go\n", timeout=30)

    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    text = reply["text"]
    assert str(database(harness)) in text and "is busy" in text
    assert "Try again" in text and "one vsm process per SQLite file" in text
    assert str(database(harness)) in caplog.text
    assert load_subscriptions(harness.runtime.engine) == [], "nothing half-written"
    assert harness.reply("subscribe digest daily 08:00", user=ADMIN)["text"].startswith("Done")


def test_a_digest_blocked_by_the_lock_is_not_lost(harness, fake, caplog) -> None:
    short_busy_timeout(harness)
    deps = build_deps(harness.runtime)
    holder = hold_lock(database(harness), "until")
    try:
        with caplog.at_level(logging.WARNING):
            blocked = post_digest(deps, "payments", TEAM_CHANNEL, None, "daily")
    finally:
        holder.communicate("go\n", timeout=30)
    retried = post_digest(deps, "payments", TEAM_CHANNEL, None, "daily")

    assert (blocked, retried) == ("failed", "sent")
    assert "is busy" in caplog.text
    assert [s.state for s in load_sends(harness.runtime.engine)] == ["sent"]
    assert len(fake.calls_to("chat.postMessage")) == 1
