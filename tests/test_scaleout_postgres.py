"""Several real ``vsm serve --http`` processes on one PostgreSQL schema, against the fake Slack.

Exactly one process leads the scheduler; when it is killed with SIGKILL a standby takes over, and
every scheduled digest (due every 2 s here, ``VSM_TEST_DIGEST_EVERY_SECONDS``) is posted exactly
once across the failover. Needs ``VSM_TEST_POSTGRES_URL``; each test gets a schema of its own.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.config import load_config
from bot.leader import ADVISORY_LOCK_CLASS
from bot.runtime import open_runtime
from bot.sync import sync_teams
from storage.db import make_engine, upgrade
from tests.bot_processes import (
    LEADS,
    STANDS_BY,
    BotProcess,
    digest_rows,
    schema_url,
    wait_until,
    write_app_yaml,
)
from tests.conftest import POSTGRES_URL, postgres_engine
from tests.fake_slack import FakeSlack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
FAST = {
    "VSM_LEADER_RETRY_SECONDS": "0.5",
    "VSM_SWEEP_SECONDS": "0.5",
    "VSM_TEST_DIGEST_EVERY_SECONDS": "2",
}


@pytest.fixture
def schema() -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated schema of this test's own, and an engine on it."""
    if not POSTGRES_URL:
        pytest.skip("VSM_TEST_POSTGRES_URL is not set")
    name = f"vsm_scale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = postgres_engine(POSTGRES_URL, name)
    upgrade(engine)
    yield name, engine
    engine.dispose()
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def advisory_locks(engine: Engine, schema: str) -> int:
    """How many sessions hold this schema's scheduler lock (granted)."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :key AND objsubid = 2 "
        "AND objid::bigint = (hashtext(:schema)::bigint + 4294967296) % 4294967296"
    )
    with engine.connect() as conn:
        return int(conn.execute(query, {"key": ADVISORY_LOCK_CLASS, "schema": schema}).scalar())


def start(config: Path, folder: Path, count: int, env: dict[str, str]) -> list[BotProcess]:
    return [BotProcess(config, folder / f"vsm-{i}.log", env) for i in range(count)]


def stop_all(processes: list[BotProcess]) -> None:
    for process in processes:
        if process.process.poll() is None:
            process.stop()


def test_one_of_three_processes_leads_and_a_standby_takes_over_when_it_dies(
    schema, fake, tmp_path
) -> None:
    name, engine = schema
    config = write_app_yaml(tmp_path / "app.yaml", fake, schema_url(POSTGRES_URL, name))
    processes = start(config, tmp_path, 3, {"VSM_LEADER_RETRY_SECONDS": "0.5"})
    try:
        for process in processes:
            wait_until(lambda p=process: p.leads() or STANDS_BY in p.output(), what="a role")
        leaders = [p for p in processes if p.leads()]
        assert len(leaders) == 1, [p.output() for p in processes]
        assert advisory_locks(engine, name) == 1
        assert [p.command("help") for p in processes] == [200, 200, 200], "all of them serve"

        leaders[0].kill()
        survivors = [p for p in processes if p is not leaders[0]]
        wait_until(lambda: any(p.leads() for p in survivors), 30, "a standby to take over")

        assert sum(p.leads() for p in survivors) == 1
        wait_until(lambda: advisory_locks(engine, name) == 1, 10, "the lock to be held again")
    finally:
        stop_all(processes)
    assert [p.process.returncode for p in survivors] == [0, 0], "SIGTERM stops them cleanly"


def test_a_frozen_leader_is_replaced_within_its_lease_and_stands_down_when_it_resumes(
    schema, fake, tmp_path
) -> None:
    name, _ = schema
    config = write_app_yaml(tmp_path / "app.yaml", fake, schema_url(POSTGRES_URL, name))
    env = {"VSM_LEADER_RETRY_SECONDS": "0.5", "VSM_LEASE_SECONDS": "2"}
    processes = start(config, tmp_path, 2, env)
    try:
        wait_until(lambda: any(p.leads() for p in processes), 30, "a leader")
        leader = next(p for p in processes if p.leads())
        standby = next(p for p in processes if p is not leader)
        leader.freeze()
        frozen_at = time.monotonic()
        standby.wait_for(LEADS, 30)
        failover = time.monotonic() - frozen_at
        leader.thaw()
        leader.wait_for("no longer runs the scheduler", 30)
    finally:
        stop_all(processes)

    assert failover < 10, f"a standby led {failover:.1f} s after the leader froze (lease 2 s)"


def test_each_digest_is_posted_once_across_a_leader_killed_with_sigkill(
    schema, fake, tmp_path
) -> None:
    name, engine = schema
    database = schema_url(POSTGRES_URL, name)
    config = write_app_yaml(tmp_path / "app.yaml", fake, database)
    runtime = open_runtime(load_config(config), database=database)
    sync_teams(runtime)  # the digests have something to say from the first one on
    runtime.engine.dispose()

    def sent() -> list[str]:
        return [r.period for r in digest_rows(engine) if r.state == "sent"]

    processes = start(config, tmp_path, 2, FAST)
    try:
        wait_until(lambda: len(sent()) >= 3, 60, "three digests")
        leader = next(p for p in processes if p.leads())
        standby = next(p for p in processes if p is not leader)
        leader.kill()
        before = sent()
        standby.wait_for(LEADS, 30)
        wait_until(lambda: len([p for p in sent() if p > max(before)]) >= 2, 60, "two more")
    finally:
        stop_all(processes)

    rows = digest_rows(engine)
    posts = [c for c in fake.calls_to("chat.postMessage") if "needs attention" in c.params["text"]]
    posted_ts = [c.reply["ts"] for c in posts if c.reply.get("ok")]
    sent_rows = [r for r in rows if r.state == "sent"]
    interrupted = [r for r in rows if r.state in ("posting", "unknown")]
    assert len(posted_ts) == len(set(posted_ts))
    assert {r.ts for r in sent_rows} <= set(posted_ts), "every sent digest is in Slack"
    # A post is either recorded as sent, or was cut off by the SIGKILL mid-request (at most one).
    assert 0 <= len(posted_ts) - len(sent_rows) <= len(interrupted) <= 1
    assert len({r.period for r in sent_rows}) == len(sent_rows), "one digest per period"
    assert [p for p in sent() if p > max(before)], "the standby posted the next digests"
