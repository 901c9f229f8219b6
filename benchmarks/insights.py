"""Benchmark: load a 100,000-item team (1,000,000 stage changes) from SQLite and report on it.

Prints the time to store the data (setup), to load the snapshot, to build the full team report
(all metrics and all detectors) cold and warm, to run the forecast, and the peak memory; wall and
CPU time, since other work on the machine slows the wall clock. Goals (issue 3): report under
1.0 s warm after loading, loading under 1.5 s, peak memory under 1 GB.

Beside the items, 50,000 pull requests name one item each (with a review request and an approval)
and daily production deployments ship them, so the report maps the whole value stream. The map
is kept with the timelines of its instant (the report and its detector share it), so a warm
report at the same instant reuses it: what the map adds is timed apart, at a new instant on warm
timelines, as a report a minute later pays it (issue 16: under 0.3 s).

The snapshot is loaded as the bot should load one: with the cyclic garbage collector paused, and
frozen out of its reach afterwards (see ``storage.snapshots.load_snapshot``). The first report on
a snapshot builds its timelines; later ones (the bot's digests, alerts and charts on the snapshot
it keeps) reuse them. Reports run with the collector on; ``--gc-paused`` pauses it around them.

    .venv/bin/python -m benchmarks.insights [--items 100000] [--changes-per-item 10]
        [--linked-prs 50000] [--gc-paused]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from benchmarks.summary import headline
from insights.agreements import Agreements
from insights.forecast import daily_samples, forecast_how_many, forecast_when
from insights.metrics.flow_items import item_timelines
from insights.model import (
    Deployment,
    FlagChange,
    ItemHistory,
    ItemKind,
    Outcome,
    Page,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)
from insights.report import build_report
from insights.value_stream import resolve_steps, value_stream_map, workflow_of
from storage.db import make_engine, upgrade
from storage.pages import save_page
from storage.snapshots import load_snapshot

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WORKFLOW = (
    ("Backlog", Stage.BACKLOG),
    ("Selected for Development", Stage.WAITING),
    ("In Progress", Stage.ACTIVE),
    ("Code Review", Stage.ACTIVE),
    ("Ready for QA", Stage.WAITING),
    ("QA", Stage.ACTIVE),
    ("Done", Stage.DONE),
)


def synthetic_history(rng: random.Random, n: int, changes: int) -> ItemHistory:
    """One item walking the workflow, with back-and-forth moves to reach ``changes`` transitions."""
    item_id = f"bench:issue:BEN-{n}"
    created = NOW - timedelta(days=rng.uniform(1, 365))
    at = created
    position = 0
    transitions = []
    finishes = rng.random() < 0.97  # a realistic team: about 3,000 of 100,000 items in progress
    for step in range(changes):
        step_at = at + timedelta(hours=rng.expovariate(1 / 12))
        if step_at > NOW:  # a sync at NOW cannot have seen later moves
            break
        at = step_at
        last = step == changes - 1
        if last and finishes:
            target = len(WORKFLOW) - 1
        elif position >= 3 and rng.random() < 0.3:
            target = position - 1
        else:
            target = min(position + 1, len(WORKFLOW) - 2)
        if target == position:
            target = position - 1
        transitions.append(
            Transition(
                item_id,
                at,
                WORKFLOW[position][0],
                WORKFLOW[target][0],
                WORKFLOW[position][1],
                WORKFLOW[target][1],
            )
        )
        position = target
    status, stage = WORKFLOW[position]
    finished = at if stage is Stage.DONE else None
    flags = ()
    if rng.random() < 0.05:
        flags = (FlagChange(item_id, created + timedelta(hours=1), True),)
    item = WorkItem(
        id=item_id,
        team="bench",
        source="bench",
        key=f"BEN-{n}",
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Benchmark item {n}",
        status=status,
        stage=stage,
        created_at=created,
        updated_at=max(at, created),
        resolved_at=finished,
    )
    return ItemHistory(item, tuple(transitions), flags)


def linked_pr(rng: random.Random, n: int, issue: ItemHistory) -> ItemHistory | None:
    """A pull request naming ``issue``: opened partway through it, approved, merged (by NOW)."""
    item, moves = issue.item, issue.transitions
    end = item.resolved_at or (moves[-1].at if moves else item.created_at)
    opened = item.created_at + (end - item.created_at) * rng.uniform(0.2, 0.6)
    merged = opened + timedelta(hours=rng.expovariate(1 / 20))
    if merged >= NOW:
        return None
    pr_id = f"bench:pr:acme/api#{n}"
    pr = WorkItem(
        id=pr_id,
        team="bench",
        source="bench",
        key=f"acme/api#{n}",
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title=f"Change {n}",
        status="merged",
        stage=Stage.DONE,
        created_at=opened,
        updated_at=merged,
        resolved_at=merged,
        author="dev",
        merged_at=merged,
        linked_keys=(item.key,),
    )
    reviews = (
        ReviewEvent(pr_id, opened, ReviewState.REQUESTED, "rev"),
        ReviewEvent(pr_id, opened + (merged - opened) / 2, ReviewState.APPROVED, "rev"),
    )
    done = Transition(pr_id, merged, "open", "merged", Stage.ACTIVE, Stage.DONE)
    return ItemHistory(pr, (done,), (), reviews)


def daily_deployments(merges: list[tuple[datetime, str]]) -> list[Deployment]:
    """A production deployment at 15:00 every day, shipping what merged since the one before."""
    merges.sort()
    deployments, shipped, day = [], [], NOW - timedelta(days=366)
    day = day.replace(hour=15, minute=0, second=0, microsecond=0)
    index = 0
    while day < NOW:
        while index < len(merges) and merges[index][0] < day:
            shipped.append(merges[index][1])
            index += 1
        if shipped:
            deployments.append(
                Deployment(
                    id=f"bench:deploy:{day:%Y%m%d}",
                    team="bench",
                    source="bench",
                    environment="production",
                    outcome=Outcome.SUCCESS,
                    finished_at=day + timedelta(minutes=12),
                    started_at=day,
                    shipped_item_ids=tuple(shipped),
                    production=True,
                )
            )
            shipped = []
        day += timedelta(days=1)
    return deployments


def store(url: str, items: int, changes: int, linked_prs: int, page_size: int = 5000) -> float:
    """Store the items, ``linked_prs`` pull requests naming some of them, and the deployments."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(1)
    every = max(1, items // linked_prs) if linked_prs else 0
    merges: list[tuple[datetime, str]] = []
    started = time.perf_counter()
    for start in range(0, items, page_size):
        page = [
            synthetic_history(rng, n, changes) for n in range(start, min(items, start + page_size))
        ]
        prs = []
        for history in page:
            number = int(history.item.key.removeprefix("BEN-"))
            if every and number % every == 0 and number // every < linked_prs:
                pr = linked_pr(rng, number, history)
                if pr is not None and pr.item.merged_at is not None:
                    prs.append(pr)
                    merges.append((pr.item.merged_at, pr.item.id))
        save_page(engine, "bench/bench", Page([*page, *prs], cursor=str(start)), NOW)
    save_page(engine, "bench/deploys", Page(deployments=daily_deployments(merges)), NOW)
    engine.dispose()
    return time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


T = TypeVar("T")


def timed(what: str, run: Callable[[], T], goal: str = "") -> T:
    """Run ``run()``, print its wall and CPU time, and record it as a headline."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    figure = f"{time.perf_counter() - wall:.2f} s ({time.process_time() - cpu:.2f} s CPU)"
    print(f"{what}: {figure}")
    headline("insights", what, figure, goal)
    return result


@contextmanager
def collector_paused(paused: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector (when ``paused``) for the ``with`` block."""
    if paused:
        gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_frozen(engine: Engine, statuses: list[str]) -> Snapshot:
    """Load the team as the bot should: collector paused, snapshot frozen out of its reach."""
    with collector_paused():
        snapshot = load_snapshot(engine, "bench", statuses)
        gc.freeze()
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--changes-per-item", type=int, default=10)
    parser.add_argument("--linked-prs", type=int, default=50_000)
    parser.add_argument(
        "--gc-paused", action="store_true", help="pause the garbage collector around reports"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        setup = store(url, args.items, args.changes_per_item, args.linked_prs)
        print(
            f"setup: stored {args.items:,} items, {args.items * args.changes_per_item:,} "
            f"stage changes, up to {args.linked_prs:,} linked pull requests in {setup:.1f} s"
        )
        engine = make_engine(url)
        statuses = [name for name, _ in WORKFLOW]
        snapshot = timed("load (cold)", lambda: load_frozen(engine, statuses))
        del snapshot  # replaced, as the bot replaces a team's snapshot after a sync
        snapshot = timed("load (warm)", lambda: load_frozen(engine, statuses), "< 1.5 s")
        events = sum(len(t) for t in snapshot.transitions.values())
        print(f"items loaded: {len(snapshot.items):,}, transitions: {events:,}")
        agreements = Agreements(wip_limit=3000)
        for attempt in ("cold", "warm", "warm"):
            with collector_paused(args.gc_paused):
                report = timed(
                    f"full report ({attempt})",
                    lambda: build_report(snapshot, agreements, NOW, UTC, 30),
                    "< 1.0 s warm",
                )
        print(f"report: {len(report.findings)} findings, WIP {report.metrics['wip']}")
        stream = report.value_stream
        if stream is not None:
            print(
                f"value stream: {len(stream.steps)} steps, {stream.items:,} items finished in the "
                f"window, {stream.no_pr:,} without a pull request, hotspot {stream.hotspot}"
            )
        lines = item_timelines(snapshot)
        for minutes in (1, 2):  # a new instant: nothing of the report's map is reused
            later = NOW + timedelta(minutes=minutes)
            with collector_paused(args.gc_paused):
                timed(
                    "value stream map added to a warm report (new instant)",
                    lambda at=later: value_stream_map(  # type: ignore[misc]
                        snapshot,
                        lines,
                        resolve_steps(snapshot, workflow_of(snapshot)),
                        at - timedelta(days=30),
                        at,
                    ),
                    "< 0.3 s",
                )
        samples = daily_samples(item_timelines(snapshot), NOW, UTC)
        started = time.perf_counter()
        forecast_when(samples, 1000, NOW.date(), seed=1)
        forecast_how_many(samples, NOW.date(), NOW.date() + timedelta(days=30), seed=1)
        elapsed_ms = (time.perf_counter() - started) * 1000
        print(f"forecast (10,000 trials each, when + how many): {elapsed_ms:.0f} ms")
        print(f"peak memory (max RSS): {peak_mb():.0f} MB")
        headline("insights", "peak memory (max RSS)", f"{peak_mb():.0f} MB", "< 1 GB")


if __name__ == "__main__":
    main()
