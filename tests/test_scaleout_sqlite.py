"""SQLite is for one scheduling process: a second ``vsm serve`` says so, serves, and stands by.

Two real processes on one SQLite file against the fake Slack: the first leads (it holds the lock
file next to the database), the second logs that SQLite is for one process and answers Slack
without scheduling; when the first is killed with SIGKILL the second takes over, and every
digest is still posted once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.config import load_config
from bot.runtime import open_runtime
from bot.sync import sync_teams
from storage.db import make_engine
from tests.bot_processes import (
    LEADS,
    SQLITE_STANDBY,
    BotProcess,
    digest_rows,
    wait_until,
    write_app_yaml,
)
from tests.fake_slack import FakeSlack

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def database(tmp_path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'vsm.db'}"
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def test_a_second_process_on_sqlite_serves_without_scheduling_then_takes_over(
    fake, database, tmp_path
) -> None:
    url, engine = database
    config = write_app_yaml(tmp_path / "app.yaml", fake, url)
    runtime = open_runtime(load_config(config))
    sync_teams(runtime)
    runtime.engine.dispose()
    env = {
        "VSM_LEADER_RETRY_SECONDS": "0.5",
        "VSM_SWEEP_SECONDS": "0.5",
        "VSM_TEST_DIGEST_EVERY_SECONDS": "2",
    }

    def sent() -> list[str]:
        return [r.period for r in digest_rows(engine) if r.state == "sent"]

    first = BotProcess(config, tmp_path / "first.log", env)
    second = None
    try:
        first.wait_for(LEADS)
        second = BotProcess(config, tmp_path / "second.log", env)
        second.wait_for(SQLITE_STANDBY)
        said = second.output()
        assert f"pid {first.pid}" in said and "vsm.db.scheduler.lock" in said
        assert "only answers Slack" in said and "PostgreSQL" in said
        assert second.command("help") == 200, "the second process still serves"
        wait_until(lambda: len(sent()) >= 2, 60, "two digests")
        assert not second.leads()

        first.kill()
        before = sent()
        second.wait_for(LEADS, 30)
        wait_until(lambda: [p for p in sent() if p > max(before)], 60, "a digest after the kill")
    finally:
        first.stop()
        if second is not None:
            second.stop()

    rows = digest_rows(engine)
    posted = [c.reply["ts"] for c in fake.calls_to("chat.postMessage") if c.reply.get("ok")]
    sent_rows = [r for r in rows if r.state == "sent"]
    interrupted = [r for r in rows if r.state in ("posting", "unknown")]
    assert len(posted) == len(set(posted))
    assert {r.ts for r in sent_rows} <= set(posted)
    assert 0 <= len(posted) - len(sent_rows) <= len(interrupted) <= 1
