"""The sync runner: pull every configured source page by page, storing each with its cursor.

A source resumes from its saved cursor; each page and the cursor after it are stored in one
transaction, so a crash at any point loses nothing and duplicates nothing. A failing source is
recorded in its health and the others still run. An error becomes text here, and only after
:func:`bot.redact.redact` has taken every configured secret out of it (a vendor may echo the
credential it was sent): what ``vsm sync`` prints, ``source_health`` stores and Slack shows is
that text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.redact import protect_logs, redact, secret_values
from bot.runtime import Runtime
from insights.model import Page
from integrations.base import Source, SourceConfig, SourceContext, SourceError
from integrations.cleaning import clean_page
from integrations.registry import build_source
from storage.repository import WriteCounts, load_cursor, record_health, save_page

log = logging.getLogger(__name__)
SYNC_WORKERS = 4
"""Sources synced at once (each vendor host still sees one sync at a time)."""


@dataclass
class SyncResult:
    """What one source's sync did."""

    team: str
    source: str
    source_key: str
    counts: WriteCounts = field(default_factory=WriteCounts)
    pages: int = 0
    records: int = 0
    skipped: int = 0
    cleaned: int = 0
    """Records whose vendor text held characters the database refuses (NUL), removed."""
    unmapped: set[str] = field(default_factory=set)
    seconds: float = 0.0
    error: str | None = None


PageCallback = Callable[[SyncResult, Page], None]


def source_key(team: TeamConfig, config: SourceConfig) -> str:
    """The key under which a team's source keeps its cursor and health."""
    return f"{team.name}/{config.display_name()}"


def make_context(
    team: TeamConfig, clock: Callable[[], datetime], sleep: Callable[[float], None]
) -> SourceContext:
    """The context a source of ``team`` is built with."""
    return SourceContext(
        team=team.name,
        workflow=team.make_workflow(),
        now=clock,
        sleep=sleep,
        project_keys=team.projects,
    )


def pull_into(
    engine: Engine,
    key: str,
    source: Source,
    clock: Callable[[], datetime],
    result: SyncResult,
    on_page: PageCallback | None = None,
) -> None:
    """Pull ``source`` from its saved cursor, storing each page with its cursor atomically.

    Vendor text is cleaned first (NUL removed, counted); records the database still refuses are
    skipped by storage and counted with the source's skipped records.
    """
    for raw in source.pull(load_cursor(engine, key)):
        page, cleaned = clean_page(raw)
        counts = save_page(engine, key, page, clock())
        result.counts.add(counts)
        result.pages += 1
        result.records += page.record_count
        result.skipped += page.skipped + counts.refused
        result.cleaned += cleaned
        result.unmapped |= set(page.unmapped_statuses)
        if on_page is not None:
            on_page(result, page)


def sync_source(
    runtime: Runtime,
    team: TeamConfig,
    config: SourceConfig,
    on_page: PageCallback | None = None,
) -> SyncResult:
    """Sync one source to the end and record its health; errors are reported, not raised."""
    protect_logs(secret_values(runtime.config))  # registers the secrets redact() removes
    key = source_key(team, config)
    result = SyncResult(team=team.name, source=config.display_name(), source_key=key)
    started = time.perf_counter()
    context = make_context(team, runtime.clock, runtime.sleep)
    try:
        source = build_source(config, context)
        pull_into(runtime.engine, key, source, runtime.clock, result, on_page)
    except SourceError as exc:
        result.error = redact(str(exc))
        log.error("sync of %s failed: %s", key, result.error)
    except Exception as exc:
        result.error = redact(f"{key}: unexpected {type(exc).__name__}: {exc}")
        log.exception("sync of %s failed unexpectedly", key)
    result.unmapped |= context.workflow.unmapped
    result.seconds = time.perf_counter() - started
    record_health(
        runtime.engine,
        source_key=key,
        team=team.name,
        source=config.display_name(),
        now=runtime.clock(),
        error=result.error,
        records=result.records,
        skipped=result.skipped,
        unmapped=result.unmapped,
    )
    return result


def sync_teams(
    runtime: Runtime,
    team_name: str | None = None,
    on_page: PageCallback | None = None,
    workers: int = SYNC_WORKERS,
) -> list[SyncResult]:
    """Sync every source of every team (or of the named team); results in configuration order.

    Sources run concurrently on up to ``workers`` threads, except that sources sharing a vendor
    rate limit (same type and API host) run one after the other, so concurrency never multiplies
    the request rate against one vendor.
    """
    jobs = [
        (team, config)
        for team in runtime.config.teams_named(team_name)
        for config in team.source_configs()
    ]
    groups: dict[str, list[int]] = {}
    for index, (_, config) in enumerate(jobs):
        groups.setdefault(config.rate_limit_group(), []).append(index)
    results: list[SyncResult | None] = [None] * len(jobs)

    def run_group(indexes: list[int]) -> None:
        for index in indexes:
            team, config = jobs[index]
            results[index] = sync_source(runtime, team, config, on_page)

    if workers <= 1 or len(groups) <= 1:
        for indexes in groups.values():
            run_group(indexes)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vsm-sync") as pool:
            for future in [pool.submit(run_group, indexes) for indexes in groups.values()]:
                future.result()
    return [r for r in results if r is not None]
