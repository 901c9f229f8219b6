"""Benchmark: backfill 10,000 pull requests with reviews from the fake GitHub, then sync again.

The fake GitHub runs in a child process (so the figures are the sync's own), serving one
repository whose PRs each have a review request, a comment and an approval. The sync runs through
the real runner into a temporary SQLite database. Printed: requests by kind (REST answered 200,
REST answered 304, GraphQL), the GraphQL cost (points, by GitHub's documented formula), wall
time and peak memory of the syncing process; and the backfill's requests over the minimum the
GraphQL API allows (one call per 100 PRs). Goals (issue 5): the no-change incremental costs
nothing but 304s; the backfill uses at most 1.1 x the minimum.

    .venv/bin/python benchmarks/github_sync.py [--prs 10000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.summary import headline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sync import SyncResult, pull_into
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.github import Config, build
from storage.db import make_engine, upgrade
from tests.fake_github import FakeGitHub, pr_node, requested, review

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
REPO = "acme/big"


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def serve(count: int, pipe) -> None:
    """Child process: a fake GitHub with ``count`` PRs; answers "stats" until "stop"."""
    fake = FakeGitHub()
    repo = fake.repo(REPO)
    start = NOW - timedelta(days=720)
    for n in range(1, count + 1):
        opened = start + timedelta(minutes=100 * n)
        merged = opened + timedelta(hours=20)
        repo.prs[n] = pr_node(
            n,
            title=f"PAY-{n}: change number {n}",
            created=iso(opened),
            updated=iso(merged),
            state="MERGED",
            merged=iso(merged),
            merge_sha=f"{n:040x}",
            branch=f"feature/pay-{n}",
            body="Implements the change.\n\nSee the design doc.",
            first_commit=iso(opened - timedelta(hours=3)),
            timeline=[
                requested(iso(opened + timedelta(minutes=1)), "bob"),
                review("COMMENTED", iso(opened + timedelta(hours=2)), "carol"),
                review("APPROVED", iso(opened + timedelta(hours=6)), "bob"),
            ],
            size=(120, 30, 4),
            repo=REPO,
        )
    fake.start()
    pipe.send(fake.url)
    while (command := pipe.recv()) != "stop":
        if command == "reset":
            fake.reset_log()
        pipe.send(
            {
                "rest_200": fake.count("^/repos/", status=200),
                "rest_304": fake.count("^/repos/", status=304),
                "graphql": fake.count("^/graphql$"),
                "rate_limit_remaining": fake.rate_remaining,
            }
        )
    fake.stop()


def sync(url: str, engine, cursor_key: str, page_size: int, sleeps: list[float]):
    config = Config(token="ghp-test-token", repos=[REPO], api_url=url, page_size=page_size)
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, sleeps.append, ("PAY",))
    source = build(config, ctx)
    result = SyncResult("payments", "github", cursor_key)
    started, cpu = time.perf_counter(), time.process_time()
    pull_into(engine, cursor_key, source, lambda: NOW, result)
    return time.perf_counter() - started, time.process_time() - cpu, result, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=serve, args=(args.prs, theirs), daemon=True)
    child.start()
    url = ours.recv()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        sleeps: list[float] = []
        minimum = math.ceil(args.prs / 100)

        seconds, cpu, result, source = sync(url, engine, "payments/github", args.page_size, sleeps)
        ours.send("stats")
        backfill = ours.recv()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        requests = backfill["rest_200"] + backfill["rest_304"] + backfill["graphql"]
        print(f"backfill of {args.prs:,} PRs with reviews (GraphQL page size {args.page_size}):")
        events = result.counts.events
        print(f"  PRs stored {result.records:,}, events (reviews + transitions) {events:,}")
        print(
            f"  requests {requests} (GraphQL {backfill['graphql']}, REST 200 "
            f"{backfill['rest_200']}, REST 304 {backfill['rest_304']}); minimum {minimum} "
            f"GraphQL calls -> {requests / minimum:.2f} x minimum"
        )
        print(f"  GraphQL cost {source.api.graphql_cost} points")
        print(
            f"  wall {seconds:.2f} s ({args.prs / seconds:,.0f} PRs/s), CPU of the syncing "
            f"process {cpu:.2f} s, its peak RSS {peak_mb:.0f} MB"
        )

        ours.send("reset")
        ours.recv()
        seconds, cpu, result, source = sync(url, engine, "payments/github", args.page_size, sleeps)
        ours.send("stats")
        again = ours.recv()
        spent = backfill["rate_limit_remaining"] - again["rate_limit_remaining"]
        print("no-change incremental:")
        print(
            f"  requests {again['rest_200'] + again['rest_304'] + again['graphql']} "
            f"(REST 304 {again['rest_304']}, REST 200 {again['rest_200']}, GraphQL "
            f"{again['graphql']}); rate-limit budget spent {spent}; pages {result.pages}"
        )
        print(f"  wall {seconds * 1000:.0f} ms")
        incremental = again["rest_200"] + again["rest_304"] + again["graphql"]
        headline(
            "github_sync",
            f"backfill {args.prs:,} PRs: requests vs minimum",
            f"{requests / minimum:.2f} x",
            "minimum = PRs / 100 GraphQL calls",
        )
        headline("github_sync", "no-change incremental requests", str(incremental), "304s only")
        engine.dispose()
    ours.send("stop")
    child.join(timeout=10)


if __name__ == "__main__":
    main()
