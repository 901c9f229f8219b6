"""The fault suite: the leading ``vsm serve`` is killed, frozen or cut off while it posts digests.

Each trial starts two real ``vsm serve --http`` processes on a fresh PostgreSQL schema with
``teams`` synced demo teams, each in its own channel, whose daily digests are all due (one
period), against the fake Slack, and interrupts the leader's ``k``-th digest post (``k`` drawn
at random):

- ``kill-before``: SIGKILL as the post arrives; Slack does not take it.
- ``kill-after``: SIGKILL as Slack takes the post; no answer comes back.
- ``freeze``: SIGSTOP as the post arrives (Slack takes and answers it); SIGCONT once the
  standby leads, which it must do within the lease although the frozen leader's connections
  stay open.
- ``drop``: Slack takes the post and drops the connection; the process lives on.

A trial ends when every digest is final in the database (and a frozen leader has resumed and
stood down); then the processes stop and the digests in Slack are counted per channel:
expected, posted, duplicated, lost. ``tests/test_faults_leader.py`` runs a trial of each;
``benchmarks/faults.py`` runs 20 or more of each and prints the figures.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from bot.config import load_config
from bot.runtime import open_runtime
from bot.slack.delivering.poster import SEND_EVENT
from bot.sync import sync_teams
from storage.db import make_engine, upgrade
from tests.bot_processes import (
    LEADS,
    BotProcess,
    channel_id,
    digest_rows,
    schema_url,
    wait_until,
    write_app_yaml,
)
from tests.conftest import postgres_engine
from tests.fake_slack import Call, FakeSlack

SCENARIOS = ("kill-before", "kill-after", "freeze", "drop")
STOOD_DOWN = "no longer runs the scheduler"
LEASE_SECONDS = 2
ENV = {
    "VSM_TEST_DIGEST_EVERY_SECONDS": "86400",  # one period, due from the start
    "VSM_SWEEP_SECONDS": "0.5",
    "VSM_LEADER_RETRY_SECONDS": "0.5",
    "VSM_LEASE_SECONDS": str(LEASE_SECONDS),
    "VSM_RETRY_SECONDS": "1",
    "VSM_SYNC_MINUTES": "600",
}
STALE_CLAIM_SECONDS = {"kill-before": "4", "kill-after": "4", "freeze": "60", "drop": "60"}
"""A dead leader's claims are taken over quickly; a frozen one's are not (it resumes first)."""


@dataclass
class Tally:
    """What the trials of one scenario did to the digests."""

    trials: int = 0
    expected: int = 0
    posted: int = 0
    duplicated: int = 0
    lost: int = 0
    skipped: int = 0
    wrong_ts: int = 0
    """Digests whose recorded ts is not their message in the channel."""
    slowest_failover: float = 0.0
    """Seconds from the freeze to a standby leading (``freeze``)."""

    def add(self, other: Tally) -> None:
        for name in ("trials", "expected", "posted", "duplicated", "lost", "skipped", "wrong_ts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.slowest_failover = max(self.slowest_failover, other.slowest_failover)

    def line(self, scenario: str) -> str:
        """One line of figures."""
        return (
            f"{scenario:12} trials {self.trials:3}  expected {self.expected:4}  "
            f"posted {self.posted:4}  duplicated {self.duplicated}  lost {self.lost}  "
            f"skipped {self.skipped}  wrong ts {self.wrong_ts}"
            + (f"  slowest failover {self.slowest_failover:.1f} s" if self.slowest_failover else "")
        )


class Trial:
    """One trial: a schema, a fake Slack, two processes, one interrupted post."""

    def __init__(self, scenario: str, url: str, folder: Path, teams: int, rng: random.Random):
        self.scenario = scenario
        self.url = url
        self.folder = folder
        self.teams = teams
        self.interrupt_at = rng.randrange(teams)
        self.schema = f"vsm_fault_{uuid.uuid4().hex[:10]}"
        self.processes: list[BotProcess] = []
        self.frozen: BotProcess | None = None
        self.frozen_at = 0.0

    def run(self) -> Tally:
        """Run the trial and count; the schema is dropped afterwards."""
        engine = postgres_engine(self.url, self.schema)
        try:
            upgrade(engine)
            with FakeSlack() as fake:
                failover = self._run(engine, fake)
                return count(fake, engine, self.teams, failover)
        finally:
            engine.dispose()
            admin = make_engine(self.url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()

    def _run(self, engine: Engine, fake: FakeSlack) -> float:
        database = schema_url(self.url, self.schema)
        config = write_app_yaml(self.folder / "app.yaml", fake, database, teams=self.teams)
        runtime = open_runtime(load_config(config), database=database)
        sync_teams(runtime)
        runtime.engine.dispose()
        self._plan(fake)
        env = {**ENV, "VSM_STALE_CLAIM_SECONDS": STALE_CLAIM_SECONDS[self.scenario]}
        self.processes = [
            BotProcess(config, self.folder / f"vsm-{i}.log", env, wait=False) for i in range(2)
        ]
        try:
            for process in self.processes:
                process.wait_listening()
            failover = self._follow_freeze()
            wait_until(lambda: self._final(engine), 120, "every digest sent")
            assert not fake.interruptions_pending("chat.postMessage"), "the fault never happened"
        finally:
            for process in self.processes:
                process.stop()
        return failover

    def _plan(self, fake: FakeSlack) -> None:
        """Interrupt the leader's ``interrupt_at``-th digest post."""
        hooks: dict[str, Callable[[Call], None] | None] = {
            "kill-before": self._kill,
            "kill-after": self._kill,
            "freeze": self._freeze,
            "drop": None,
        }
        accept = self.scenario != "kill-before"
        answer = self.scenario == "freeze"
        fake.interrupt_next(
            "chat.postMessage",
            accept=accept,
            answer=answer,
            hook=hooks[self.scenario],
            after=self.interrupt_at,
        )

    def _leader(self) -> BotProcess:
        return next(p for p in self.processes if p.leads() and p.process.poll() is None)

    def _kill(self, call: Call) -> None:
        self._leader().kill()

    def _freeze(self, call: Call) -> None:
        self.frozen = self._leader()
        self.frozen_at = time.monotonic()
        self.frozen.freeze()

    def _follow_freeze(self) -> float:
        """Once the leader froze: seconds until a standby led; then thaw it, see it step down."""
        if self.scenario != "freeze":
            return 0.0
        wait_until(lambda: self.frozen is not None, 60, "the leader to freeze while posting")
        frozen = self.frozen
        assert frozen is not None
        standby = next(p for p in self.processes if p is not frozen)
        standby.wait_for(LEADS, 60)
        failover = time.monotonic() - self.frozen_at
        frozen.thaw()
        frozen.wait_for(STOOD_DOWN, 60)
        return failover

    def _final(self, engine: Engine) -> bool:
        rows = digest_rows(engine)
        return len(rows) == self.teams and all(r.state in ("sent", "skipped") for r in rows)


def count(fake: FakeSlack, engine: Engine, teams: int, failover: float = 0.0) -> Tally:
    """Digests in Slack against digests due: one trial's tally."""
    rows = {r.channel_id: r for r in digest_rows(engine)}
    tally = Tally(trials=1, slowest_failover=failover)
    for index in range(teams):
        channel = channel_id(index)
        messages = [
            m
            for m in fake.posted(channel)
            if (m.get("metadata") or {}).get("event_type") == SEND_EVENT
            and m["metadata"]["event_payload"].get("kind") == "digest_daily"
        ]
        row = rows.get(channel)
        if row is not None and row.state == "skipped":
            tally.skipped += 1
            continue
        tally.expected += 1
        tally.posted += bool(messages)
        tally.duplicated += max(0, len(messages) - 1)
        tally.lost += not messages
        tally.wrong_ts += row is None or row.ts not in {m["ts"] for m in messages}
    return tally


def run_scenario(
    scenario: str, url: str, folder: Path, trials: int, teams: int, seed: int = 7
) -> Tally:
    """Run ``trials`` trials of ``scenario``; their summed tally."""
    rng = random.Random(f"{seed}:{scenario}")
    total = Tally()
    for number in range(trials):
        trial_folder = folder / f"{scenario}-{number:03d}"
        trial_folder.mkdir(parents=True)
        total.add(Trial(scenario, url, trial_folder, teams, rng).run())
    return total
