"""Charts drawn in worker processes, so drawing never holds the GIL the request threads need.

matplotlib is CPU-bound Python; drawn in the server process it slows every other request,
acks included. ``vsm serve`` therefore hands charts to a small pool of spawned processes (spawn,
not fork: the server has threads). Each worker opens the database itself and keeps the snapshots
it loaded, keyed by the team's data version, so a chart costs one small pickle each way.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.charts import ChartImage, render_chart
from bot.config import TeamConfig
from insights.model import Snapshot
from storage.db import make_engine
from storage.snapshots import load_snapshot

SNAPSHOTS_KEPT = 8
_engines: dict[str, Engine] = {}
_snapshots: dict[tuple[str, str, tuple[str, ...]], Snapshot] = {}


ORPHAN_CHECK_SECONDS = 2.0


def default_workers() -> int:
    """One process per core."""
    return os.cpu_count() or 1


def _exit_with_parent(parent: int) -> None:
    """A worker whose server died (even by SIGKILL) exits instead of lingering."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _start_worker(parent: int) -> None:
    """Watch the parent, and import the drawing code (and matplotlib) before the first chart."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    importlib.import_module("bot.charts.render")


def _ready() -> None:
    """A no-op task: submitting it starts a worker."""


def _snapshot(database_url: str, team: TeamConfig, version: tuple[str, ...]) -> Snapshot:
    key = (database_url, team.name, version)
    if key not in _snapshots:
        if database_url not in _engines:
            _engines[database_url] = make_engine(database_url)
        while len(_snapshots) >= SNAPSHOTS_KEPT:
            _snapshots.pop(next(iter(_snapshots)))
        _snapshots[key] = load_snapshot(_engines[database_url], team.name, list(team.workflow))
    return _snapshots[key]


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
