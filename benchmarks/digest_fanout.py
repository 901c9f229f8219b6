"""Benchmark: the daily digests of 200 teams fired at once, two ``vsm serve`` processes, PostgreSQL.

Writes an app.yaml with N small teams (each its own channel; the packaged demo team's settings)
and a CSV file per team with a small flow of its own (~30 items: aging, blocked, over its WIP
limit). The demo source cannot serve here: every demo team has the same item ids, so in one
database the last team synced would own them all. Syncs them into a fresh PostgreSQL schema,
starts the fake Slack Web API (``tests/fake_slack.py``) and two real ``vsm serve --http``
processes on that schema, with every daily digest due at once
(``VSM_TEST_DIGEST_EVERY_SECONDS=86400``: one period, due from the start). One process leads
and posts them all; the other stands by. Prints posts per second, total time, the tightest
spacing of two messages in one channel (each digest is a post plus its chart in the thread,
paced to one message per second per channel), and duplicates (must be 0).

    VSM_TEST_POSTGRES_URL=postgresql://... .venv/bin/python -m benchmarks.digest_fanout [--teams N]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from sqlalchemy import Engine, text

from benchmarks.summary import headline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402
from bot.sync import sync_teams  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.bot_processes import (  # noqa: E402
    LEADS,
    BotProcess,
    digest_rows,
    schema_url,
    wait_until,
    write_app_yaml,
)
from tests.conftest import postgres_engine  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

MESSAGE_METHODS = ("chat.postMessage", "files.completeUploadExternal")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--items", type=int, default=30, help="demo work items per team")
    args = parser.parse_args()
    url = os.environ.get("VSM_BENCH_POSTGRES_URL") or os.environ.get("VSM_TEST_POSTGRES_URL")
    if not url:
        print("skipped: set VSM_TEST_POSTGRES_URL (or VSM_BENCH_POSTGRES_URL) to a PostgreSQL URL")
        return 0
    schema = f"vsm_bench_{uuid.uuid4().hex[:8]}"
    engine = postgres_engine(url, schema)
    folder = Path(tempfile.mkdtemp(prefix="vsm-fanout-"))
    try:
        with FakeSlack() as fake:
            return run(args.teams, args.items, url, schema, engine, folder, fake)
    finally:
        engine.dispose()
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def team_csv(folder: Path, index: int, items: int) -> list[dict[str, str]]:
    """Team ``index``'s source: a CSV of ``items`` work items (aging, blocked, too much WIP)."""
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(index)
    rows = [("key", "title", "type", "status", "changed_at", "assignee")]

    def at(days_ago: float) -> str:
        return (now - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")

    for n in range(1, items + 1):
        key, who = f"T{index:03d}-{n}", f"person-{n % 5}"
        start = rng.uniform(2, 60)
        steps = [("Backlog", start + 3), ("In Progress", start)]
        if n % 3 == 0:
            steps.append(("Done", start - rng.uniform(1, min(start - 0.5, 8))))
        elif n % 7 == 0:
            steps.append(("Blocked", start / 2))
        elif n % 5 == 0:
            steps.append(("Code Review", start / 3))
        rows += [(key, f"Item {n} of team {index}", "Story", s, at(d), who) for s, d in steps]
    path = folder / f"team-{index:03d}.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    return [{"type": "csv", "path": str(path)}]


def run(
    teams: int, items: int, url: str, schema: str, engine: Engine, folder: Path, fake: FakeSlack
) -> int:
    database = schema_url(url, schema)
    config = write_app_yaml(
        folder / "app.yaml",
        fake,
        database,
        teams=teams,
        sources=lambda index: team_csv(folder, index, items),
    )
    started = time.perf_counter()
    runtime = open_runtime(load_config(config), database=database)
    sync_teams(runtime)
    runtime.engine.dispose()
    print(f"synced {teams} teams ({items} items each) in {time.perf_counter() - started:.1f} s")
    env = {
        "VSM_TEST_DIGEST_EVERY_SECONDS": "86400",
        "VSM_SWEEP_SECONDS": "1",
        "VSM_LEADER_RETRY_SECONDS": "1",
        "VSM_SYNC_MINUTES": "600",
    }
    workers = max(1, (os.cpu_count() or 2) - 1)
    processes = [
        BotProcess(config, folder / f"vsm-{i}.log", env, chart_processes=workers) for i in range(2)
    ]
    try:
        wait_until(lambda: any(p.leads() for p in processes), 60, "a leader")
        wait_until(
            lambda: (
                len([r for r in digest_rows(engine) if r.state in ("sent", "skipped")]) >= teams
            ),
            900,
            f"{teams} digests",
        )
        sent = len([r for r in digest_rows(engine) if r.state == "sent"])
        wait_until(
            lambda: len(fake.calls_to("files.completeUploadExternal")) >= sent, 300, "charts"
        )
        leaders = sum(LEADS in p.output() for p in processes)
    finally:
        for process in processes:
            process.stop()
    report(teams, fake, engine, leaders)
    return 0


def report(teams: int, fake: FakeSlack, engine: Engine, leaders: int) -> None:
    posts = [c for c in fake.calls_to("chat.postMessage") if c.reply.get("ok")]
    charts = [c for c in fake.calls_to("files.completeUploadExternal") if c.reply.get("ok")]
    rows = digest_rows(engine)
    per_channel = Counter(c.params["channel"] for c in posts)
    duplicates = sum(n - 1 for n in per_channel.values() if n > 1)
    first, last = min(c.at for c in posts), max(c.at for c in posts)
    span = last - first
    rate = len(posts) / span if span > 0 else float("inf")
    messages: dict[str, list[float]] = defaultdict(list)
    for call in [*posts, *charts]:
        messages[call.params.get("channel") or call.params.get("channel_id")].append(call.at)
    gaps = [
        later - earlier
        for times in map(sorted, messages.values())
        for earlier, later in pairwise(times)
    ]
    tightest = min(gaps) if gaps else float("nan")
    end = max(c.at for c in charts) if charts else last
    print(f"processes leading: {leaders} of 2")
    skipped = sum(r.state == "skipped" for r in rows)
    print(f"digests sent: {sum(r.state == 'sent' for r in rows)} of {teams} teams")
    print(f"skipped (nothing to say): {skipped}")
    print(f"digest posts: {len(posts)} in {span:.1f} s = {rate:.1f} posts/s")
    print(
        f"charts in their threads: {len(charts)}, the last {end - first:.1f} s after the first post"
    )
    print(f"tightest spacing of two messages in one channel: {tightest:.2f} s (pacing: >= 1 s)")
    print(f"duplicates: {duplicates}")
    headline("digest_fanout", f"{teams} daily digests, 2 processes", f"{rate:.1f} posts/s")
    headline("digest_fanout", "total time (posts + charts)", f"{end - first:.1f} s")
    headline("digest_fanout", "duplicates", str(duplicates), "0")
    headline("digest_fanout", "tightest gap in a channel", f"{tightest:.2f} s", ">= 1 s")


if __name__ == "__main__":
    sys.exit(main())
