"""Benchmark: backfill a large Jira Cloud (or Data Center) site, then a sync with nothing new.

The fake Jira runs in a child process (so the figures are the sync's own) with a fixed latency
added to every request, serving N issues with C status changes each. The sync runs through the
real runner into a temporary SQLite database. Printed: requests by endpoint against the minimum
the API allows (Cloud: search pages of the 100 issues it grants with fields, plus bulk changelog
pages of 10,000 histories for each 1,000 issues; Data Center: search pages), wall time, rows
stored per second, peak memory of the syncing process; then the no-change incremental's requests
(the backfill listed every issue, so no reconciliation is due that day), and a day later the
daily reconciliation's (a key-only search: 5,000 keys a page on Cloud).
Goals (issue 4): requests at most 1.1 x the minimum, backfill under 2 minutes, peak memory under
400 MB, incremental at most 3 requests; reconciliation 3 + one request per page of keys.

    .venv/bin/python benchmarks/jira_sync.py [--issues 100000] [--changes 10] [--latency 0.05]
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
from insights.model import Stage
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.jira import Config, build
from storage.db import make_engine, upgrade
from storage.snapshots import table_counts
from tests.fake_jira import WORKFLOW, FakeJira, credentials

CLOUD_PAGE = 100
BULK_ISSUES, BULK_HISTORIES = 1000, 10_000
KEY_PAGE = {"cloud": 5000, "datacenter": 1000}
"""Issues per key-only search page: Cloud's cap for id/key searches, Data Center's default max."""


def serve(deployment: str, issues: int, changes: int, latency: float, pipe) -> None:
    """Child process: the fake site; answers "stats", "reset" and "tomorrow" until "stop"."""
    fake = FakeJira(deployment, cloud_page_cap=CLOUD_PAGE)
    fake.generate(issues, changes)
    fake.latency = latency
    pipe.send(fake.start())
    while (command := pipe.recv()) != "stop":
        if command == "reset":
            fake.requests.clear()
        elif command == "tomorrow":  # the site's clock, which the daily reconciliation follows
            fake.now += timedelta(days=1)
        paths: dict[str, int] = {}
        for request in fake.requests:
            paths[request.path] = paths.get(request.path, 0) + 1
        pipe.send(paths)
    fake.stop()


def minimum(deployment: str, issues: int, changes: int, dc_page: int) -> int:
    """The fewest requests the API allows for the backfill (search + changelog pages)."""
    if deployment == "datacenter":
        return math.ceil(issues / dc_page)
    batches = [min(BULK_ISSUES, issues - start) for start in range(0, issues, BULK_ISSUES)]
    changelog_pages = sum(math.ceil(n * changes / BULK_HISTORIES) for n in batches)
    return math.ceil(issues / CLOUD_PAGE) + changelog_pages


def sync(engine, url: str, deployment: str) -> tuple[SyncResult, float]:
    settings = {"type": "jira", "url": url, "project": "BIG", **credentials(deployment)}
    context = SourceContext(
        team="bench",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: datetime.now(UTC),
        sleep=time.sleep,
    )
    source = build(Config.model_validate(settings), context)
    result = SyncResult(team="bench", source="jira", source_key="bench/jira")
    started = time.perf_counter()
    pull_into(engine, "bench/jira", source, lambda: datetime.now(UTC), result)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10, help="status changes per issue")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--deployment", choices=("cloud", "datacenter"), default="cloud")
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(
        target=serve,
        args=(args.deployment, args.issues, args.changes, args.latency, theirs),
        daemon=True,
    )
    child.start()
    url = ours.recv()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        result, seconds = sync(engine, url, args.deployment)
        if result.error:
            sys.exit(f"backfill failed: {result.error}")
        ours.send("stats")
        backfill = ours.recv()
        counts = table_counts(engine)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ours.send("reset")
        ours.recv()
        again, again_seconds = sync(engine, url, args.deployment)
        ours.send("stats")
        incremental = ours.recv()
        for command in ("tomorrow", "reset"):
            ours.send(command)
            ours.recv()
        daily, daily_seconds = sync(engine, url, args.deployment)
        ours.send("stats")
        reconciliation = ours.recv()
    ours.send("stop")
    child.join(10)

    made = sum(backfill.values())
    floor = minimum(args.deployment, args.issues, args.changes, 1000)
    rows = counts["items"] + counts["transitions"] + counts["flags"]
    print(
        f"Jira {args.deployment} backfill: {args.issues:,} issues x {args.changes} status "
        f"changes, {args.latency * 1000:.0f} ms latency per request"
    )
    for path, n in sorted(backfill.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>7,}  {path}")
    print(f"  requests {made:,} vs minimum {floor:,} = {made / floor:.3f} x (goal <= 1.1)")
    print(f"  wall time {seconds:.1f} s (goal < 120 s)")
    print(
        f"  stored {counts['items']:,} items + {counts['transitions']:,} transitions + "
        f"{counts['flags']:,} flags = {rows / seconds:,.0f} rows/s"
    )
    print(f"  peak memory (max RSS of the syncing process) {peak_mb:.0f} MB (goal < 400 MB)")
    name = f"jira_sync ({args.deployment})"
    headline(
        name,
        f"backfill {args.issues:,} issues: requests vs minimum",
        f"{made / floor:.3f} x",
        "<= 1.1 x",
    )
    headline(name, "backfill wall time", f"{seconds:.1f} s", "< 120 s")
    headline(name, "backfill peak memory", f"{peak_mb:.0f} MB", "< 400 MB")
    headline(name, "no-change incremental requests", str(sum(incremental.values())), "<= 3")
    print(
        f"No-change incremental: {sum(incremental.values())} requests (goal <= 3), "
        f"{again.pages} pages, {again_seconds:.2f} s: "
        + ", ".join(f"{p} x{n}" for p, n in sorted(incremental.items()))
    )
    listing = 3 + math.ceil(args.issues / KEY_PAGE[args.deployment])
    headline(
        name, "daily reconciliation requests", str(sum(reconciliation.values())), f"<= {listing}"
    )
    print(
        f"Daily reconciliation: {sum(reconciliation.values())} requests (goal <= {listing}), "
        f"{daily.counts.removed} removed, {daily_seconds:.2f} s: "
        + ", ".join(f"{p} x{n}" for p, n in sorted(reconciliation.items()))
    )


if __name__ == "__main__":
    main()
