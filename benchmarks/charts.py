"""Benchmark: warm render time of every chart at 100 dpi, on the demo team and a 5,000-item team.

Both teams come from the seeded demo source (``bot/demo.yaml``; the large one with
``items: 5000``), synced into temporary SQLite files. Per chart it prints the medians of the warm
runs: CPU time to gather the numbers and build the figure (``draw``), to rasterise and encode it
(``png``), and wall and CPU time of the whole ``render_chart`` call (``total``).
Goal (issue 7): under 150 ms each, warm.

Then, as a chart worker of ``vsm serve`` draws them (warmed up and its collector frozen,
:func:`bot.slack.answering.chart_processes.warm_up`), 20 different charts of the demo team in a
row, several times: their CPU per chart and the slowest one. Two workers draw what
``benchmarks.slack_latency`` asks at once, so 10 of these make its p95 on an idle machine.

    .venv/bin/python -m benchmarks.charts [--items 5000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from benchmarks.summary import headline
from bot.charts import CHART_KINDS, ITEM_CHARTS, render_chart
from bot.charts.render import DRAWERS
from bot.charts.request import ChartRequest
from bot.charts.style import to_png
from bot.commands.demo import DEMO_CONFIG
from bot.config import TeamConfig, parse_config
from bot.runtime import open_runtime
from bot.slack.answering.chart_processes import warm_up
from bot.sync import sync_teams
from insights.model import Snapshot
from storage.snapshots import load_snapshot

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
GOAL_MS = 150.0
TEAM_CHARTS = [kind for kind in CHART_KINDS if kind not in ITEM_CHARTS]
"""The charts of a whole team (an item's chart needs the item named)."""
IN_A_ROW = 20
ROW_KINDS = ("cfd", "scatter", "aging", "throughput", "forecast")
"""The kinds ``benchmarks.slack_latency`` asks 20 different charts of."""


def demo_team(folder: Path, items: int | None) -> tuple[Snapshot, TeamConfig]:
    """Sync the demo source (with ``items`` issues if given) and load the team's snapshot."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    if items is not None:
        data["teams"][0]["sources"][0]["items"] = items
    config = parse_config(data, str(DEMO_CONFIG), env={})
    runtime = open_runtime(config, database=f"sqlite:///{folder / 'vsm.db'}", clock=lambda: NOW)
    started = time.perf_counter()
    sync_teams(runtime)
    team = config.teams[0]
    snapshot = load_snapshot(runtime.engine, team.name, team.workflow)
    runtime.engine.dispose()
    seconds = time.perf_counter() - started
    print(
        f"  {len(snapshot.issues()):,} issues, {len(snapshot.items):,} items, "
        f"{len(snapshot.deployments):,} deployments (synced in {seconds:.1f} s)"
    )
    return snapshot, team


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``runs`` calls after one warm-up call.

    CPU time (this process only) is what the chart costs when the machine is busy with other
    work; on an idle machine both are close.
    """
    action()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def measure(snapshot: Snapshot, team: TeamConfig, runs: int) -> dict[str, tuple[float, ...]]:
    """Per kind: draw CPU ms, PNG CPU ms, total wall ms, total CPU ms, PNG kB."""
    results = {}
    for kind in TEAM_CHARTS:
        request = ChartRequest(snapshot, team, NOW)
        figure = DRAWERS[kind](request).figure
        _, draw = timed(lambda kind=kind, request=request: DRAWERS[kind](request), runs)
        _, png = timed(lambda figure=figure: to_png(figure), runs)
        wall, cpu = timed(lambda kind=kind: render_chart(kind, snapshot, team, NOW), runs)
        size = len(to_png(figure)) / 1024
        results[kind] = (draw, png, wall, cpu, size)
    return results


def in_a_row(snapshot: Snapshot, team: TeamConfig, rows: int) -> tuple[float, float]:
    """CPU ms per chart and of the slowest, drawing ``rows`` x 20 different charts in a row.

    Every chart has a window of its own, as in ``benchmarks.slack_latency``.
    """
    warm_up()
    costs = []
    for chart in range(rows * IN_A_ROW):
        kind = ROW_KINDS[chart % len(ROW_KINDS)]
        started = time.process_time()
        render_chart(kind, snapshot, team, NOW, window_days=365 - chart)
        costs.append((time.process_time() - started) * 1000)
    return statistics.fmean(costs), max(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="issues in the large team")
    parser.add_argument("--runs", type=int, default=7, help="warm runs per measurement")
    args = parser.parse_args()
    tables = {}
    teams = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, items in (("demo", None), (f"{args.items:,} items", args.items)):
            print(f"{label}:")
            folder = Path(tmp) / label.replace(" ", "_").replace(",", "")
            folder.mkdir()
            teams[label] = snapshot, team = demo_team(folder, items)
            tables[label] = measure(snapshot, team, args.runs)
    print(f"\nwarm medians of {args.runs} runs at 100 dpi (1200 x 675 px), milliseconds")
    print(
        f"{'team':<13}{'chart':<12}{'draw cpu':>9}{'png cpu':>9}{'total wall':>12}"
        f"{'total cpu':>11}{'PNG kB':>8}"
    )
    worst_wall = worst_cpu = 0.0
    for label, results in tables.items():
        for kind, (draw, png, wall, cpu, size) in results.items():
            worst_wall, worst_cpu = max(worst_wall, wall), max(worst_cpu, cpu)
            print(
                f"{label:<13}{kind:<12}{draw:>9.0f}{png:>9.0f}{wall:>12.0f}{cpu:>11.0f}{size:>8.0f}"
            )
    print(
        f"\nslowest chart: {worst_wall:.0f} ms wall, {worst_cpu:.0f} ms CPU "
        f"(goal: under {GOAL_MS:.0f} ms warm)"
    )
    headline(
        "charts",
        "slowest warm render (100 dpi)",
        f"{worst_wall:.0f} ms wall, {worst_cpu:.0f} ms CPU",
        f"< {GOAL_MS:.0f} ms",
    )
    per_chart, slowest = in_a_row(*teams["demo"], rows=3)
    print(
        f"\n{3 * IN_A_ROW} different demo charts in a row, as a chart worker draws them: "
        f"{per_chart:.0f} ms CPU per chart, slowest {slowest:.0f} ms"
    )
    headline(
        "charts",
        "different charts in a row, as a worker (CPU per chart; slowest)",
        f"{per_chart:.0f} ms; {slowest:.0f} ms",
    )


if __name__ == "__main__":
    main()
