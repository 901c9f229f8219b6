"""Charts drawn in worker processes, so drawing never holds the GIL the request threads need.

matplotlib is CPU-bound Python; drawn in the server process it slows every other request,
acks included. ``vsm serve`` therefore hands charts to a small pool of spawned processes (spawn,
not fork: the server has threads), so a chart costs one small pickle each way.

Each worker is warm before the first request: it imports the drawing code and draws one
throwaway chart (fonts, glyph and text caches). It opens the database itself and keeps the
teams' snapshots in a :class:`~bot.snapshot_cache.SnapshotCache`, which reloads a team when its
data version changed and bounds the worker's memory like the server's cache. Whatever the warm-up
and a snapshot load left is moved out of the garbage collector's sight (``gc.freeze``): a chart
makes many short-lived objects, and a full collection that walked every snapshot record and
matplotlib module with them doubled a chart's time now and then.
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from bot.charts import ChartImage, render_chart
from bot.config import TeamConfig
from bot.snapshot_cache import SnapshotCache
from insights.model import Snapshot
from storage.db import make_engine
from storage.snapshots import load_snapshot

ORPHAN_CHECK_SECONDS = 2.0
WARM_UP_DAY = date(2026, 1, 1)
"""The as-of date the throwaway warm-up chart says (it is never shown)."""
_caches: dict[str, SnapshotCache] = {}
"""This worker's snapshot cache of each database it drew from."""


def default_workers() -> int:
    """One process per core."""
    return os.cpu_count() or 1


def _exit_with_parent(parent: int) -> None:
    """A worker whose server died (even by SIGKILL) exits instead of lingering."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _start_worker(parent: int) -> None:
    """Watch the parent and warm up."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    warm_up()


def warm_up() -> None:
    """Get this process ready to draw charts, as a worker is before its first request.

    Import the drawing code (matplotlib), draw and encode one throwaway chart, then freeze
    everything left (see the module docstring).
    """
    importlib.import_module("bot.charts.render")
    from bot.charts.empty import plot_empty
    from bot.charts.style import Header, to_png

    header = Header(chart="Warm-up", team="-", window="-", as_of=WARM_UP_DAY)
    to_png(plot_empty(header, "Warming up.", "Nothing to see.").figure)
    _freeze()


def _freeze() -> None:
    """Collect the garbage, then keep every object left out of later collections.

    Frozen objects are never collected, so what an earlier freeze kept is thawed first: a
    snapshot dropped since then (and any cycle through it) is freed now.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _ready() -> None:
    """A no-op task: submitting it starts a worker."""


def _snapshot(database_url: str, team: TeamConfig, version: tuple[str, ...]) -> Snapshot:
    """The team's snapshot at ``version``, loaded (and frozen) unless this worker has it."""
    cache = _caches.get(database_url)
    if cache is None:
        cache = _caches[database_url] = SnapshotCache(make_engine(database_url))
    loads = cache.loads
    workflow = list(team.workflow)
    stamps = dict.fromkeys(version)  # the cache only compares stamps: the version stands in
    snapshot = cache.get(
        team.name, stamps, lambda: load_snapshot(cache.engine, team.name, workflow)
    )
    if cache.loads != loads:
        _freeze()
    return snapshot


def draw(
    database_url: str,
    team: TeamConfig,
    version: tuple[str, ...],
    kind: str,
    now: datetime,
    options: dict[str, Any],
) -> ChartImage:
    """Draw one chart (runs in a worker process)."""
    return render_chart(kind, _snapshot(database_url, team, version), team, now, **options)


class ChartProcesses:
    """A pool of chart-drawing processes for one database."""

    def __init__(self, engine: Engine, workers: int | None = None) -> None:
        self.database_url = engine.url.render_as_string(hide_password=False)
        count = workers or default_workers()
        self.pool = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        for _ in range(count):
            self.pool.submit(_ready)  # start the workers now, not on the first chart

    def render(
        self,
        team: TeamConfig,
        version: tuple[str, ...],
        kind: str,
        now: datetime,
        options: dict[str, Any],
    ) -> ChartImage:
        """Draw a chart in a worker process and wait for it."""
        return self.pool.submit(draw, self.database_url, team, version, kind, now, options).result()

    def shutdown(self) -> None:
        """Stop the workers."""
        self.pool.shutdown(wait=False, cancel_futures=True)
