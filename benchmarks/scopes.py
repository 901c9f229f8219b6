"""Scope forecasts on a large team (issue 18): a release, an epic and a scope that never finishes.

The team is the one of ``benchmarks.insights`` (100,000 items, 1,000,000 stage changes, 50,000
linked pull requests, stored in SQLite and loaded as the bot loads it), with three scopes added
through storage as a source would deliver them:

- release ``2.3``: about 250 issues with it as a fix version, plus the issues 50 pull requests
  with it as their milestone link (about 300 in all), created over the last 60 days so the scope
  grows; its ``Plan`` is due 40 days after ``NOW``;
- epic ``BEN-EPIC``: 300 children, open ones first, due the day after ``NOW``: the team finishes
  about 265 items a day, so only that close a date puts it at risk (the detector then writes a
  card and works out its levers);
- label ``firehose``: every issue created in the last 60 days, so the scope grows about as fast as
  the team finishes items and its forecast runs to the 10-year horizon.

Each figure is the median of 5 runs after a warm-up (the timelines and per-snapshot caches are
warm, as in the bot's sweeps), in CPU time (``time.process_time``) and wall time:
``scope_forecast`` (10,000 trials), ``what_if`` with levers, the never-finishing forecast, the
``scope_at_risk`` detector on the release and the epic with no card shown and with its cards fed
back as ``shown`` (the stable path), and ``ScopeRef.members`` + ``scope_items`` of the release
(which scans the pull requests' linked keys). Goals: a forecast under 300 ms, the detector under
500 ms per scope.

    .venv/bin/python -m benchmarks.scopes [--items 100000] [--changes-per-item 10]
        [--linked-prs 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from benchmarks.insights import NOW, WORKFLOW, load_frozen, peak_mb, store
from benchmarks.summary import headline
from insights.agreements import Agreements
from insights.detectors import scope_at_risk
from insights.detectors.support.context import DetectionContext
from insights.findings import Finding
from insights.model import ItemHistory, ItemKind, Page, Plan, Snapshot, Stage, WorkItem
from insights.scopes import Levers, ScopeRef, scope_forecast, scope_items, what_if
from storage.db import make_engine
from storage.pages import save_page
from storage.snapshots import load_snapshot

RELEASE = "2.3"
EPIC_KEY = "BEN-EPIC"
FIREHOSE = "firehose"
SCOPE_DAYS = 60
"""The scopes' items were created over this many days before ``NOW``."""
RELEASE_ISSUES, RELEASE_PRS, EPIC_CHILDREN = 250, 50, 300
LEVERS = Levers(cut=20, throughput_factor=1.2)
AGREEMENTS = Agreements(wip_limit=3000)
FORECAST_GOAL, DETECTOR_GOAL = "< 300 ms", "< 500 ms per scope"


@dataclass(frozen=True)
class Timing:
    """The median CPU and wall time of several runs, in milliseconds."""

    cpu_ms: float
    wall_ms: float


def measure(run: Callable[[], Any], runs: int) -> Timing:
    """Run ``run`` once to warm up, then ``runs`` times: the medians of CPU and wall time."""
    run()
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        run()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return Timing(statistics.median(cpu), statistics.median(wall))


def scoped_histories(snapshot: Snapshot) -> tuple[list[ItemHistory], Plan]:
    """The items changed to make the three scopes (with their events), and the release's plan."""
    rng = random.Random(18)
    since = NOW - timedelta(days=SCOPE_DAYS)
    changes: dict[str, dict[str, Any]] = {}
    recent = [i for i in snapshot.issues() if i.created_at >= since]
    for item in recent:
        changes[item.key] = {"labels": (*item.labels, FIREHOSE)}
    for item in rng.sample(recent, RELEASE_ISSUES):
        changes[item.key]["releases"] = (RELEASE,)
    recent_keys = {i.key for i in recent}
    linking = [
        pr
        for pr in snapshot.pull_requests()
        if any(k in recent_keys and "releases" not in changes[k] for k in pr.linked_keys)
    ]
    for pr in rng.sample(linking, RELEASE_PRS):
        changes[pr.key] = {"releases": (RELEASE,)}
    free = [i for i in recent if "releases" not in changes[i.key]]
    open_first = sorted(free, key=lambda i: i.stage is Stage.DONE)
    for item in open_first[:EPIC_CHILDREN]:
        changes[item.key]["parent_key"] = EPIC_KEY
    histories = [
        ItemHistory(
            replace(item, **changes[item.key]),
            tuple(snapshot.transitions.get(item.id, ())),
            tuple(snapshot.flags.get(item.id, ())),
            tuple(snapshot.reviews.get(item.id, ())),
        )
        for item in snapshot.items
        if item.key in changes
    ]
    epic = WorkItem(
        id=f"bench:issue:{EPIC_KEY}",
        team="bench",
        source="bench",
        key=EPIC_KEY,
        kind=ItemKind.ISSUE,
        type="Epic",
        title="Benchmark epic",
        status=WORKFLOW[2][0],
        stage=WORKFLOW[2][1],
        created_at=since,
        updated_at=since,
        due_on=NOW.date() + timedelta(days=1),
    )
    release = Plan(
        "bench", "bench", "release", RELEASE, RELEASE, due_on=NOW.date() + timedelta(days=40)
    )
    return [*histories, ItemHistory(epic)], release


def build(url: str, args: argparse.Namespace) -> tuple[Engine, float]:
    """Store the team of ``benchmarks.insights``, then its scopes; the engine and seconds taken."""
    started = time.perf_counter()
    store(url, args.items, args.changes_per_item, args.linked_prs)
    engine = make_engine(url)
    plain = load_snapshot(engine, "bench", [name for name, _ in WORKFLOW])
    histories, release = scoped_histories(plain)
    del plain
    save_page(engine, "bench/scopes", Page(histories, plans=[release]), NOW)
    return engine, time.perf_counter() - started


def detect(
    snapshot: Snapshot, scopes: Sequence[ScopeRef], shown: dict[str, Finding]
) -> list[Finding]:
    """The ``scope_at_risk`` findings of ``scopes`` with the cards ``shown``."""
    context = DetectionContext(snapshot, AGREEMENTS, NOW, UTC, scopes=scopes, shown=shown)
    return scope_at_risk.detect(context)


def describe_forecast(snapshot: Snapshot, ref: ScopeRef) -> str:
    """The forecast of ``ref`` in one line, to show what was measured."""
    forecast = scope_forecast(snapshot, ref, NOW, UTC)
    dates = ", ".join(f"{c}% {d or 'never'}" for c, d in forecast.dates.items())
    chance = "" if forecast.probability is None else f", {forecast.probability:.0%} by target"
    return (
        f"{ref.name} (target {ref.target}): {forecast.done} done of {forecast.total}, "
        f"+{forecast.growth_per_week:.1f}/week; {dates}{chance}; "
        f"beyond the horizon {forecast.beyond_horizon:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--changes-per-item", type=int, default=10)
    parser.add_argument("--linked-prs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine, setup = build(f"sqlite:///{Path(folder) / 'bench.db'}", args)
        print(f"setup: stored the team and its scopes in {setup:.1f} s")
        gc.collect()
        snapshot = load_frozen(engine, [name for name, _ in WORKFLOW])
    release = ScopeRef("release", RELEASE).at_vendor(snapshot)
    epic = ScopeRef("epic", EPIC_KEY).at_vendor(snapshot)
    firehose = ScopeRef("label", FIREHOSE)
    for ref in (release, epic, firehose):
        print(describe_forecast(snapshot, ref))
    if not scope_forecast(snapshot, firehose, NOW, UTC).never:
        print(f"warning: the {firehose.name} finishes within the horizon in some trials")
    scopes = (release, epic)
    cards = {f.dedupe_key: f for f in detect(snapshot, scopes, {})}
    stable = detect(snapshot, scopes, cards)
    print(
        f"scope_at_risk: {len(cards)} card(s); fed back as shown: "
        f"{sum(f is cards.get(f.dedupe_key) for f in stable)} of {len(stable)} unchanged"
    )
    runs = args.runs
    rows = [
        (
            "scope_forecast, release (10,000 trials)",
            measure(lambda: scope_forecast(snapshot, release, NOW, UTC), runs),
            FORECAST_GOAL,
        ),
        (
            f"what_if, release ({LEVERS.describe()})",
            measure(lambda: what_if(snapshot, release, NOW, UTC, LEVERS), runs),
            FORECAST_GOAL,
        ),
        (
            "scope_forecast, never done (10-year horizon)",
            measure(lambda: scope_forecast(snapshot, firehose, NOW, UTC), runs),
            FORECAST_GOAL,
        ),
        (
            "scope_at_risk, release + epic, no card shown",
            measure(lambda: detect(snapshot, scopes, {}), runs),
            DETECTOR_GOAL,
        ),
        (
            "scope_at_risk, release + epic, cards shown (stable)",
            measure(lambda: detect(snapshot, scopes, cards), runs),
            DETECTOR_GOAL,
        ),
        (
            "ScopeRef.members + scope_items, release",
            measure(lambda: scope_items(snapshot, release), runs),
            "",
        ),
    ]
    print(f"\n{'median of ' + str(runs) + ' after a warm-up':<55} {'CPU ms':>8} {'wall ms':>8}")
    for what, timing, goal in rows:
        print(f"{what:<55} {timing.cpu_ms:>8.1f} {timing.wall_ms:>8.1f}  {goal}")
        headline("scopes", what, f"{timing.cpu_ms:.0f} ms CPU ({timing.wall_ms:.0f} ms)", goal)
    print(f"peak memory (max RSS): {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
