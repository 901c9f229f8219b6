"""Benchmark: vendor event → webhook → sync → alert card, and no loss when deliveries go wrong.

20 teams, each with one repository on the fake GitHub (one vendor host: one rate-limit group),
their channels on the fake Slack, the webhook receiver served over loopback HTTP and
:class:`~bot.webhooks.hints.Hints` syncing and alerting (no periodic sync runs), all in this
process. The clock starts on a working Wednesday afternoon and runs at real speed.

1. Latency: ``--rate`` events per minute spread over the teams for ``--minutes``: each opens a
   pull request at the fake GitHub that waits past the review agreement, then POSTs the signed
   webhook; measured from the event to its card at the fake Slack (p50 / p95). Goal: p95 < 5 s.
   The daily cap is lifted so every event gets its own card.
2. Loss: ``--loss-events`` changes at the vendor (new PRs, and reviews of earlier ones), each
   delivered twice (same delivery id), shuffled, 10 % of the deliveries dropped; then one
   reconciliation pull (``sync_teams``). Stored PRs are compared with the vendor's: missing,
   duplicated, or stored as an older version. Goal: 0 lost, 0 duplicated.

    .venv/bin/python -m benchmarks.webhooks [--minutes 3] [--rate 200] [--loss-events 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.summary import headline
from bot.runtime import Runtime, open_runtime
from bot.slack.delivering.alerts import AlertPolicy
from bot.slack.deps import SlackDeps, build_deps
from bot.sync import sync_teams
from bot.webhooks.hints import Hints
from insights.model import ItemKind
from storage.snapshots import load_snapshot
from tests.conftest import NOW
from tests.fake_github import FakeGitHub, review
from tests.fake_slack import FakeSlack
from tests.test_webhooks_end_to_end import (
    GITHUB_TOKEN,
    WebhookServer,
    github_delivery,
    iso,
    repo_name,
    team_name,
    waiting_pr,
    write_config,
)

TEAMS = 20
PR_KEY = re.compile(r"(acme/repo-\d+#\d+)")


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each card (by the PR key it names) arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        found = PR_KEY.search(str(params.get("text", "")))
        if found is not None:
            self.arrived.setdefault(found.group(1), time.monotonic())
        return super()._chat_postMessage(params)


class World:
    """The fakes, the bot's services and the receiver for ``TEAMS`` teams."""

    def __init__(self, folder: Path, policy: AlertPolicy) -> None:
        self.github = FakeGitHub(token=GITHUB_TOKEN)
        self.github.start()
        self.slack = TimedSlack()
        self.slack.start()
        started = time.monotonic()
        config = write_config(folder, self.github, self.slack, teams=TEAMS)
        for index in range(1, TEAMS + 1):
            self.github.repo(repo_name(index))
        self.runtime: Runtime = open_runtime(
            config, clock=lambda: NOW + timedelta(seconds=time.monotonic() - started)
        )
        self.deps: SlackDeps = build_deps(self.runtime)
        self.deps.policy = policy
        self.hints = Hints(self.deps)
        self.hints.start()
        self.server = WebhookServer(self.runtime, self.hints)
        self.session = requests.Session()
        self.next_number = {index: 1 for index in range(1, TEAMS + 1)}
        self.last_update = {index: NOW - timedelta(days=10) for index in range(1, TEAMS + 1)}

    def close(self) -> None:
        self.server.close()
        self.hints.stop()
        self.deps.workers.shutdown(wait=True)
        self.session.close()
        self.github.stop()
        self.slack.stop()
        self.runtime.engine.dispose()

    def updated_at(self, index: int, at: datetime) -> datetime:
        """A time after the repository's last change (GitHub's times have whole seconds)."""
        moment = max(at, self.last_update[index] + timedelta(seconds=1))
        self.last_update[index] = moment
        return moment

    def open_pr(self, index: int, at: datetime) -> str:
        """Open a PR in team ``index``'s repository that waits past the agreement; its key."""
        number = self.next_number[index]
        self.next_number[index] += 1
        node = waiting_pr(
            number, repo_name(index), at - timedelta(hours=30), self.updated_at(index, at)
        )
        with self.github.lock:
            self.github.repo(repo_name(index)).prs[number] = node
        return f"{repo_name(index)}#{number}"

    def review_pr(self, index: int, number: int, at: datetime) -> None:
        """Approve an open PR of team ``index`` (a change to a record the bot already has)."""
        updated = self.updated_at(index, at)
        with self.github.lock:
            node = dict(self.github.repo(repo_name(index)).prs[number])
            items = [*node["timelineItems"]["nodes"], review("APPROVED", iso(updated), "bob")]
            node["timelineItems"] = {"nodes": items}
            node["updatedAt"] = iso(updated)
            self.github.repo(repo_name(index)).prs[number] = node

    def deliver(self, index: int, delivery: str | None = None) -> int:
        body, headers = github_delivery(delivery=delivery)
        url = self.server.url(f"repo-{index:02d}")
        return self.session.post(url, data=body, headers=headers, timeout=30).status_code

    def wait_idle(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.hints.idle() and time.monotonic() < deadline:
            time.sleep(0.05)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency(folder: Path, minutes: float, rate: int) -> None:
    world = World(folder, AlertPolicy(daily_cap=100_000, group_above=100_000))
    try:
        sync_teams(world.runtime)
        sent: dict[str, float] = {}
        events = round(minutes * rate)
        gap = 60.0 / rate
        begin = time.monotonic()
        rng = random.Random(17)
        for n in range(events):
            due = begin + n * gap
            time.sleep(max(0.0, due - time.monotonic()))
            index = rng.randint(1, TEAMS)
            key = world.open_pr(index, world.runtime.clock())
            sent[key] = time.monotonic()
            status = world.deliver(index)
            assert status == 202, status
        world.wait_idle()
        time.sleep(2.0)
        took = [world.slack.arrived[k] - t for k, t in sent.items() if k in world.slack.arrived]
        missing = len(sent) - len(took)
        p50, p95 = statistics.median(took), percentile(took, 0.95)
        print(
            f"latency: {len(sent)} events over {minutes:g} min ({rate}/min, {TEAMS} teams): "
            f"event -> card p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(took):.2f} s; "
            f"{missing} without a card; GitHub requests {len(world.github.requests)}"
        )
        headline("webhooks", "event -> card p95", f"{p95:.2f} s (p50 {p50:.2f} s)", "< 5 s")
    finally:
        world.close()


def loss(folder: Path, count: int, drop: float = 0.1) -> None:
    world = World(folder, AlertPolicy())
    rng = random.Random(23)
    try:
        sync_teams(world.runtime)
        opened: dict[int, list[int]] = {index: [] for index in range(1, TEAMS + 1)}
        pool: list[tuple[int, str]] = []
        posted = dropped = 0
        for n in range(count):
            index = rng.randint(1, TEAMS)
            at = world.runtime.clock()
            if opened[index] and rng.random() < 0.3:
                world.review_pr(index, rng.choice(opened[index]), at)
            else:
                key = world.open_pr(index, at)
                opened[index].append(int(key.rsplit("#", 1)[1]))
            delivery = f"event-{n}"
            pool += [(index, delivery), (index, delivery)]
            while len(pool) > 40:  # deliveries arrive out of order, some long after
                target, delivery = pool.pop(rng.randrange(len(pool)))
                if rng.random() < drop:
                    dropped += 1
                else:
                    world.deliver(target, delivery)
                    posted += 1
        rng.shuffle(pool)
        for target, delivery in pool:
            if rng.random() < drop:
                dropped += 1
            else:
                world.deliver(target, delivery)
                posted += 1
        world.wait_idle()
        before = compare(world)
        sync_teams(world.runtime)
        after = compare(world)
        print(
            f"loss: {count} events, {posted} deliveries posted, {dropped} dropped; "
            f"after the webhooks: {before}; after one reconciliation pull: {after}"
        )
        verdict = f"{after['lost']} lost, {after['duplicated']} duplicated, {after['stale']} stale"
        headline("webhooks", "1,000 events twice, shuffled, 10% dropped", verdict, "0 lost, 0 dup")
    finally:
        world.close()


def compare(world: World) -> dict[str, int]:
    """Stored pull requests against the fake GitHub's: missing, duplicated, older versions."""
    lost = duplicated = stale = 0
    for index in range(1, TEAMS + 1):
        snapshot = load_snapshot(world.runtime.engine, team_name(index))
        prs = [i for i in snapshot.items if i.kind is ItemKind.PULL_REQUEST]
        keys = [pr.key for pr in prs]
        duplicated += len(keys) - len(set(keys))
        stored = {pr.key: pr for pr in prs}
        with world.github.lock:
            vendor = dict(world.github.repo(repo_name(index)).prs)
        for number, node in vendor.items():
            pr = stored.get(f"{repo_name(index)}#{number}")
            if pr is None:
                lost += 1
            elif reviews(snapshot, pr.id) != approvals(node):
                stale += 1
    return {"lost": lost, "duplicated": duplicated, "stale": stale}


def reviews(snapshot: Any, item_id: str) -> int:
    return sum(1 for r in snapshot.reviews.get(item_id, ()) if r.state.value == "approved")


def approvals(node: dict[str, Any]) -> int:
    return sum(1 for t in node["timelineItems"]["nodes"] if t.get("state") == "APPROVED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=200, help="events per minute")
    parser.add_argument("--loss-events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsm-webhooks-") as folder:
        (Path(folder) / "latency").mkdir()
        (Path(folder) / "loss").mkdir()
        latency(Path(folder) / "latency", args.minutes, args.rate)
        loss(Path(folder) / "loss", args.loss_events)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
