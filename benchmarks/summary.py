"""Headline figures of the benchmarks, gathered into one table by ``benchmarks.run_all``.

Each benchmark prints its full output and calls :func:`headline` for the few figures that matter,
with the goal they are measured against. When ``VSM_BENCH_SUMMARY`` names a file (the runner sets
it), each headline is appended to it as one JSON line; otherwise nothing is recorded (the
benchmark's own output already shows the figures).
"""

from __future__ import annotations

import json
import os

SUMMARY_ENV = "VSM_BENCH_SUMMARY"


def headline(benchmark: str, figure: str, value: str, goal: str = "") -> None:
    """Record one headline figure, e.g. ``headline("charts", "slowest warm render", "138 ms")``."""
    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    record = {"benchmark": benchmark, "figure": figure, "value": value, "goal": goal}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
