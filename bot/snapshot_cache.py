"""Each team's snapshot, kept across syncs: updated from what the syncs stored, not reloaded.

A sync in this process journals the pages it stored (:class:`bot.sync.SyncJournal`). When a
team's sources have synced since its snapshot was cached, :func:`replay` applies those pages to
the snapshot the way storage applied them to the database (:mod:`storage.pages`): an item
written is replaced with its history as the page has it, a delivery record or a plan is replaced
by its key, a complete plan set drops the plans the page lacks, and a reconciliation drops the
items no longer live. The result equals a fresh load (the tests compare the reports), in a
fraction of its time.

Correctness never rests on the journal: the cache reloads the team whenever it cannot account for
every change. The health stamps of the team's sources must lead, sync by sync, from the cached
snapshot's to the stored ones (a sync in another process, or a health row written by hand, breaks
the chain), and every page must be replayable (see :attr:`bot.sync.StoredChanges.pages`).

Memory is bounded: at most ``teams`` snapshots and, past the most recently used one, ``records``
records (items and their events) in all; the least recently used team is dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import Engine

from bot.sync import JOURNAL, StoredChanges, SyncJournal
from insights.model import ItemHistory, LiveItems, Page, Plan, Snapshot, WorkItem

CACHED_TEAMS = 32
CACHED_RECORDS = 3_000_000
"""About three teams of 100,000 items with ten status changes each."""
Stamps = Mapping[str, datetime | None]
"""The last sync attempt of each of a team's sources, by source key (what ``load_health`` says)."""
R = TypeVar("R")


@dataclass(frozen=True)
class Cached:
    """A team's snapshot, the stamps it reflects, and the journal position it has read up to."""

    snapshot: Snapshot
    stamps: Stamps
    position: int
    records: int


def snapshot_records(snapshot: Snapshot) -> int:
    """How many items and events ``snapshot`` holds: the measure of the cache's memory bound."""
    events = (snapshot.transitions, snapshot.flags, snapshot.reviews)
    return len(snapshot.items) + sum(sum(map(len, table.values())) for table in events)


class SnapshotCache:
    """The teams' snapshots of one database; concurrent requests for a team wait for one load."""

    def __init__(
        self,
        engine: Engine,
        journal: SyncJournal = JOURNAL,
        teams: int = CACHED_TEAMS,
        records: int = CACHED_RECORDS,
    ) -> None:
        self.engine = engine
        self.journal = journal
        self.teams = teams
        self.records = records
        self.loads = 0
        """Full loads so far (the rest were served from the cache or updated in place)."""
        self._cached: OrderedDict[str, Cached] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        journal.follow()

    def get(self, team: str, stamps: Stamps, load: Callable[[], Snapshot]) -> Snapshot:
        """The snapshot of ``team`` whose sources stand at ``stamps``; ``load`` reads it afresh."""
        with self._guard:
            lock = self._locks.setdefault(team, threading.Lock())
        with lock:
            with self._guard:
                cached = self._cached.get(team)
            current = None if cached is None else self._updated(team, cached, stamps)
            if current is None:
                position = self.journal.position()  # syncs stored during the load are replayed
                snapshot = load()
                self.loads += 1
                current = Cached(snapshot, dict(stamps), position, snapshot_records(snapshot))
            self._keep(team, current)
            return current.snapshot

    def _updated(self, team: str, cached: Cached, stamps: Stamps) -> Cached | None:
        """``cached`` brought up to ``stamps`` from the journal; None when a load is needed."""
        found = self.journal.since(self.engine, team, cached.position)
        if found is None:
            return None
        changes, position = found
        if not changes:
            return cached if cached.stamps == stamps else None
        pages = replayable_pages(changes, cached.stamps, stamps)
        snapshot = None if pages is None else replay(cached.snapshot, pages)
        if snapshot is None:
            return None
        return Cached(snapshot, dict(stamps), position, snapshot_records(snapshot))

    def _keep(self, team: str, cached: Cached) -> None:
        with self._guard:
            self._cached[team] = cached
            self._cached.move_to_end(team)
            total = sum(c.records for c in self._cached.values())
            while len(self._cached) > 1 and (
                len(self._cached) > self.teams or total > self.records
            ):
                _, dropped = self._cached.popitem(last=False)
                total -= dropped.records


def replayable_pages(
    changes: Sequence[StoredChanges], cached: Stamps, stamps: Stamps
) -> list[Page] | None:
    """The pages of ``changes`` if they are every change from ``cached`` to ``stamps``, else None.

    Each sync must start where the previous one of its source ended, and the last ones must end
    at ``stamps``: a sync that is not in ``changes`` (another process's) breaks that chain.
    """
    reached = dict(cached)
    pages: list[Page] = []
    for change in changes:
        if change.pages is None or reached.get(change.source_key) != change.before:
            return None
        reached[change.source_key] = change.after
        pages.extend(change.pages)
    return pages if reached == dict(stamps) else None


def replay(snapshot: Snapshot, pages: Iterable[Page]) -> Snapshot | None:
    """``snapshot`` as a fresh load would read it once ``pages`` are stored; None if unknowable.

    Unknowable: a reconciliation listing live an item the snapshot lacks (a removed item comes
    back with its stored history, which the page does not carry).
    """
    draft = Draft.of(snapshot)
    for page in pages:
        if not draft.store(page):
            return None
    return draft.snapshot()


@dataclass
class Draft:
    """A snapshot being updated: its records by id, in the order the loader reads them."""

    base: Snapshot
    items: dict[str, WorkItem]
    events: tuple[dict[str, Sequence[Any]], ...]
    """Transitions, flags and reviews by item id."""
    delivery: tuple[dict[str, Any], ...]
    """Deployments, pipeline runs and incidents by id."""
    plans: dict[tuple[str, str, str], Plan]
    """Releases and saved filters by source, kind and key."""
    reordered: bool = False

    @classmethod
    def of(cls, snapshot: Snapshot) -> Draft:
        events = (snapshot.transitions, snapshot.flags, snapshot.reviews)
        delivery = (snapshot.deployments, snapshot.pipeline_runs, snapshot.incidents)
        return cls(
            snapshot,
            {item.id: item for item in snapshot.items},
            tuple(dict(table) for table in events),
            tuple({record.id: record for record in records} for records in delivery),
            {_plan_key(plan): plan for plan in snapshot.plans},
        )

    def store(self, page: Page) -> bool:
        """Apply ``page`` as storage writes it: records first, then its reconciliation."""
        team = self.base.team
        for history in page.histories:
            if history.item.team == team:
                self.write(history)
        kinds = (page.deployments, page.pipeline_runs, page.incidents)
        for records, table in zip(kinds, self.delivery, strict=True):
            table.update((r.id, r) for r in records if r.team == team)
        self.plans.update((_plan_key(p), p) for p in page.plans if p.team == team)
        self.complete_sets(page)
        live = page.live_items
        return live is None or live.team != team or self.reconcile(live)

    def complete_sets(self, page: Page) -> None:
        """Drop the plans of the page's complete sets of this team that the page does not name."""
        named = {_plan_key(p) for p in page.plans if p.team == self.base.team}
        sets = {(s.source, s.kind) for s in page.plan_sets if s.team == self.base.team}
        stale = [key for key in self.plans if key[:2] in sets and key not in named]
        for key in stale:
            del self.plans[key]

    def write(self, history: ItemHistory) -> None:
        """Replace the item and its events (a removed item leaves the snapshot)."""
        item_id = history.item.id
        if history.item.removed_at is not None:
            self.drop(item_id)
            return
        self.reordered |= item_id not in self.items
        self.items[item_id] = history.item
        new = (history.transitions, history.flags, history.reviews)
        for table, events in zip(self.events, new, strict=True):
            if events:
                self.reordered |= item_id not in table
                table[item_id] = list(events)
            else:
                table.pop(item_id, None)

    def drop(self, item_id: str) -> None:
        self.items.pop(item_id, None)
        for table in self.events:
            table.pop(item_id, None)

    def reconcile(self, live: LiveItems) -> bool:
        """Drop the items ``live`` says are gone; False if it lists an item the draft lacks."""
        if not live.ids <= self.items.keys():
            return False
        gone = [
            item_id
            for item_id, item in self.items.items()
            if item.source == live.source
            and item_id.startswith(live.id_prefixes)
            and item_id not in live.ids
        ]
        for item_id in gone:
            self.drop(item_id)
        return True

    def snapshot(self) -> Snapshot:
        """The updated snapshot, ordered as the loader orders it."""
        deployments, runs, incidents = self.delivery
        return Snapshot(
            team=self.base.team,
            items=list(_in_order(self.items, self.reordered).values()),
            transitions=_in_order(self.events[0], self.reordered),
            flags=_in_order(self.events[1], self.reordered),
            reviews=_in_order(self.events[2], self.reordered),
            deployments=sorted(deployments.values(), key=attrgetter("finished_at", "id")),
            pipeline_runs=sorted(runs.values(), key=attrgetter("started_at", "id")),
            incidents=sorted(incidents.values(), key=attrgetter("created_at", "id")),
            statuses=self.base.statuses,
            plans=tuple(self.plans[key] for key in sorted(self.plans)),
        )


def _plan_key(plan: Plan) -> tuple[str, str, str]:
    """What identifies a team's plan, in the loader's order."""
    return plan.source, plan.kind, plan.key


def _in_order(table: dict[str, R], reordered: bool) -> dict[str, R]:
    """``table`` by id, as the loader reads it (its order is kept unless ids were added)."""
    return {key: table[key] for key in sorted(table)} if reordered else table
