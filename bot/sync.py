"""The sync runner: pull every configured source page by page, storing each with its cursor.

A source resumes from its saved cursor; each page and the cursor after it are stored in one
transaction, so a crash at any point loses nothing and duplicates nothing. A failing source is
recorded in its health and the others still run. An error becomes text here, and only after
:func:`bot.redact.redact` has taken every configured secret out of it (a vendor may echo the
credential it was sent): what ``vsm sync`` prints, ``source_health`` stores and Slack shows is
that text.

Each sync is also told to :data:`JOURNAL` (:class:`SyncJournal`): which source of which team it
synced, its health stamps before and after, and the pages it stored. The Slack answers' snapshot
cache updates a team's snapshot from these pages instead of reloading the team after every sync.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
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
from storage.health import load_health, record_health
from storage.pages import WriteCounts, load_cursor, save_page

log = logging.getLogger(__name__)
SYNC_WORKERS = 4
"""Sources synced at once (each vendor host still sees one sync at a time)."""
JOURNAL_RECORDS = 10_000
"""Records whose pages the journal keeps, over its recent syncs. A sync storing more is journaled
without its pages (a cache reloads the team: cheaper than replaying that much)."""
JOURNAL_SYNCS = 1_000
"""Syncs the journal remembers."""


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


@dataclass(frozen=True)
class StoredChanges:
    """What one sync of a source stored: an entry of :class:`SyncJournal`."""

    seq: int
    database: weakref.ref[Engine]
    team: str
    source_key: str
    before: datetime | None
    """The source's last sync attempt as stored before this sync (None: never synced)."""
    after: datetime
    """The attempt this sync recorded in the source's health."""
    pages: tuple[Page, ...] | None
    """The pages stored, in order; None when a cache cannot replay them: more records than the
    journal keeps, a page merged into the stored histories (a CSV re-import), records the
    database refused, or a sync that began before any cache followed the journal."""

    @property
    def records(self) -> int:
        """Records held by the kept pages."""
        return sum(page.record_count for page in self.pages or ())


@dataclass
class SyncRecorder:
    """Collects what one sync of a source stores, for :meth:`SyncJournal.record`."""

    engine: Engine
    team: str
    source_key: str
    limit: int
    """The records to keep pages for; past it the pages are dropped (0: keep none)."""
    before: datetime | None = None
    pages: list[Page] | None = None
    """None until :meth:`begin` has read where the sync starts from."""
    records: int = 0

    def begin(self) -> None:
        """Read the source's last attempt before the sync stores anything, and keep pages."""
        if self.limit <= 0:
            return
        health = load_health(self.engine, self.team)
        self.before = next(
            (h.last_attempt_at for h in health if h.source_key == self.source_key), None
        )
        self.pages = []

    def add(self, page: Page, counts: WriteCounts) -> None:
        """Keep ``page``, just stored with ``counts``, while the sync's pages can be replayed."""
        if self.pages is None:
            return
        self.records += page.record_count
        if page.merge_histories or counts.refused or self.records > self.limit:
            self.pages = None
        else:
            self.pages.append(page)


class SyncJournal:
    """The syncs this process ran, for caches that update from what they stored.

    It keeps nothing until a cache follows it (``vsm sync`` keeps no pages), then the pages of its
    last ``records`` records and its last :data:`JOURNAL_SYNCS` syncs; a team whose syncs were
    forgotten is reloaded by whoever missed them.
    """

    def __init__(self, records: int = JOURNAL_RECORDS) -> None:
        self.records = records
        self.followed = False
        self._entries: deque[StoredChanges] = deque()
        self._next = 0
        self._kept = 0
        self._forgotten: dict[str, int] = {}
        self._lock = threading.Lock()

    def follow(self) -> None:
        """Start journaling (a cache will read it)."""
        self.followed = True

    def position(self) -> int:
        """The sequence number the next sync will get."""
        with self._lock:
            return self._next

    def recorder(self, engine: Engine, team: str, key: str) -> SyncRecorder:
        """A recorder for a sync of ``team``'s source ``key`` (keeping nothing if not followed)."""
        return SyncRecorder(engine, team, key, limit=self.records if self.followed else 0)

    def record(self, recorder: SyncRecorder, after: datetime) -> None:
        """Journal the sync ``recorder`` saw, which recorded ``after`` as its attempt."""
        if not self.followed:
            return
        with self._lock:
            pages = None if recorder.pages is None else tuple(recorder.pages)
            entry = StoredChanges(
                self._next,
                weakref.ref(recorder.engine),
                recorder.team,
                recorder.source_key,
                recorder.before,
                after,
                pages,
            )
            self._next += 1
            self._entries.append(entry)
            self._kept += entry.records
            while self._kept > self.records or len(self._entries) > JOURNAL_SYNCS:
                old = self._entries.popleft()
                self._kept -= old.records
                self._forgotten[old.team] = old.seq + 1

    def since(
        self, engine: Engine, team: str, position: int
    ) -> tuple[list[StoredChanges], int] | None:
        """The syncs of ``team`` on ``engine`` from ``position`` on, and the position after them.

        None when some of them were forgotten.
        """
        with self._lock:
            if position < self._forgotten.get(team, 0):
                return None
            changes = [
                e
                for e in self._entries
                if e.seq >= position and e.team == team and e.database() is engine
            ]
            return changes, self._next


JOURNAL = SyncJournal()
"""This process's syncs (see :class:`SyncJournal`)."""


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
    recorder: SyncRecorder | None = None,
) -> None:
    """Pull ``source`` from its saved cursor, storing each page with its cursor atomically.

    Vendor text is cleaned first (NUL removed, counted); records the database still refuses are
    skipped by storage and counted with the source's skipped records. Each stored page is handed
    to ``recorder``.
    """
    for raw in source.pull(load_cursor(engine, key)):
        page, cleaned = clean_page(raw)
        counts = save_page(engine, key, page, clock())
        if recorder is not None:
            recorder.add(page, counts)
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
    """Sync one source to the end and record its health; errors are reported, not raised.

    The sync is journaled (:data:`JOURNAL`) even when recording its health fails.
    """
    protect_logs(secret_values(runtime.config))  # registers the secrets redact() removes
    key = source_key(team, config)
    result = SyncResult(team=team.name, source=config.display_name(), source_key=key)
    started = time.perf_counter()
    context = make_context(team, runtime.clock, runtime.sleep)
    recorder = JOURNAL.recorder(runtime.engine, team.name, key)
    try:
        recorder.begin()
        source = build_source(config, context)
        pull_into(runtime.engine, key, source, runtime.clock, result, on_page, recorder)
    except SourceError as exc:
        result.error = redact(str(exc))
        log.error("sync of %s failed: %s", key, result.error)
    except Exception as exc:
        result.error = redact(f"{key}: unexpected {type(exc).__name__}: {exc}")
        log.exception("sync of %s failed unexpectedly", key)
    result.unmapped |= context.workflow.unmapped
    result.seconds = time.perf_counter() - started
    finished = runtime.clock()
    try:
        record_health(
            runtime.engine,
            source_key=key,
            team=team.name,
            source=config.display_name(),
            now=finished,
            error=result.error,
            records=result.records,
            skipped=result.skipped,
            unmapped=result.unmapped,
        )
    finally:
        JOURNAL.record(recorder, finished)
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
