"""Write pages of the normalized model with the cursor that follows them.

:func:`save_page` stores a page's records *and* the cursor that follows it in one transaction, so
a crash either keeps both or neither: a cursor never runs ahead of the data. Writes are SQLAlchemy
Core batch statements (the driver's ``executemany``). A record the database refuses (vendor text
PostgreSQL cannot hold, an event of another item) is skipped, counted and logged by id, and the
rest of its page is stored.

Every record is stored per team, keyed by (team, id): two teams reading one source each keep their
own copy, with their own stages, and a write or a reconciliation of one team never touches another
team's rows. An item's events are stored as one packed history (``storage.histories``), replaced
as a whole each time the item is written, so re-reading an item is harmless and a vendor-side edit
of its history is reflected exactly; a page marked ``merge_histories`` (a CSV re-import) adds its
events to the stored ones instead. Plans are upserted too; a set of them the page marks complete
(:attr:`~insights.model.Page.plan_sets`) loses its stored plans the page does not name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    LiveItems,
    Page,
    PipelineRun,
    Plan,
    ReviewEvent,
    Transition,
    WorkItem,
)
from storage.db import conflict_insert
from storage.histories import (
    ForeignEvent,
    Unpacker,
    dictionary_codes,
    packed,
    stored_texts,
    texts_of,
)
from storage.tables import (
    CURSORS,
    DEPLOYMENTS,
    HISTORIES,
    INCIDENTS,
    ITEMS,
    PIPELINE_RUNS,
    PLANS,
)

ID_CHUNK = 500
"""Ids per ``IN (...)`` clause: well under SQLite's bound-parameter limit."""
REFUSED = (DataError, IntegrityError, ForeignEvent)
"""What a record the database cannot hold raises (a NUL in text, an event of another item)."""
MOVE_IDENTITY = attrgetter("at", "from_status", "to_status")
FLAG_IDENTITY = attrgetter("at", "flagged")
REVIEW_IDENTITY = attrgetter("at", "state", "reviewer")
"""What makes two events of one item the same event, when histories are merged."""
log = logging.getLogger(__name__)
T = TypeVar("T")
E = TypeVar("E", Transition, FlagChange, ReviewEvent)


@dataclass
class WriteCounts:
    """What a write did: rows new, updated, unchanged, events, items removed, records refused."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    removed: int = 0
    refused: int = 0

    def add(self, other: WriteCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.events += other.events
        self.removed += other.removed
        self.refused += other.refused


def upsert(conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` or overwrite those whose primary key exists, in one batch statement."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    stmt = conflict_insert(conn, table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), list(rows))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), ID_CHUNK):
        yield values[start : start + ID_CHUNK]


def _by_team(records: Iterable[T], team_of: Callable[[T], str]) -> dict[str, list[T]]:
    teams: dict[str, list[T]] = {}
    for record in records:
        teams.setdefault(team_of(record), []).append(record)
    return teams


def _existing(
    conn: Connection, table: Any, team: str, ids: Sequence[str], *cols: str
) -> dict[str, tuple[Any, ...]]:
    """The stored values of ``cols`` of ``team``'s rows with these ids, by id."""
    found: dict[str, tuple[Any, ...]] = {}
    columns = [table.c[c] for c in cols]
    for chunk in _chunks(ids):
        query = select(table.c.id, *columns).where(table.c.team == team, table.c.id.in_(chunk))
        for row in conn.execute(query):
            found[row[0]] = tuple(row[1:])
    return found


def _count_changes(
    existing: Mapping[str, tuple[Any, ...]], rows: Sequence[Mapping[str, Any]], cols: Sequence[str]
) -> WriteCounts:
    counts = WriteCounts()
    for row in rows:
        before = existing.get(row["id"])
        if before is None:
            counts.new += 1
        elif before != tuple(row[c] for c in cols):
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def item_to_row(item: WorkItem) -> dict[str, Any]:
    """The ``items`` row of a work item."""
    return {
        "id": item.id,
        "team": item.team,
        "source": item.source,
        "key": item.key,
        "kind": item.kind.value,
        "type": item.type,
        "title": item.title,
        "status": item.status,
        "stage": item.stage.value,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "resolved_at": item.resolved_at,
        "assignee": item.assignee,
        "url": item.url,
        "priority": item.priority,
        "labels": list(item.labels),
        "parent_key": item.parent_key,
        "story_points": item.story_points,
        "blocked_by": list(item.blocked_by),
        "author": item.author,
        "draft": item.draft,
        "merged_at": item.merged_at,
        "first_commit_at": item.first_commit_at,
        "head_branch": item.head_branch,
        "additions": item.additions,
        "deletions": item.deletions,
        "changed_files": item.changed_files,
        "merge_sha": item.merge_sha,
        "linked_keys": list(item.linked_keys),
        "removed_at": item.removed_at,
        "releases": list(item.releases),
        "due_on": item.due_on,
    }


def _plan_row(plan: Plan) -> dict[str, Any]:
    return {
        "team": plan.team,
        "source": plan.source,
        "kind": plan.kind,
        "key": plan.key,
        "name": plan.name,
        "due_on": plan.due_on,
        "done": plan.done,
        "item_keys": list(plan.item_keys),
        "url": plan.url,
    }


def _deployment_row(d: Deployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "team": d.team,
        "source": d.source,
        "environment": d.environment,
        "outcome": d.outcome.value,
        "finished_at": d.finished_at,
        "started_at": d.started_at,
        "sha": d.sha,
        "repo": d.repo,
        "shipped_item_ids": list(d.shipped_item_ids),
        "url": d.url,
        "production": d.production,
    }


def _pipeline_row(r: PipelineRun) -> dict[str, Any]:
    return {
        "id": r.id,
        "team": r.team,
        "source": r.source,
        "name": r.name,
        "branch": r.branch,
        "outcome": r.outcome.value,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "url": r.url,
        "created_at": r.created_at,
        "sha": r.sha,
    }


def _incident_row(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "team": i.team,
        "source": i.source,
        "title": i.title,
        "created_at": i.created_at,
        "acknowledged_at": i.acknowledged_at,
        "resolved_at": i.resolved_at,
        "urgency": i.urgency,
        "url": i.url,
        "deployment_id": i.deployment_id,
    }


def _stored_histories(conn: Connection, team: str, ids: Sequence[str]) -> Unpacker:
    """The stored histories of ``team``'s items ``ids``, to decode (those that have one)."""
    columns = (HISTORIES.c.item_id, HISTORIES.c.transitions, HISTORIES.c.flags, HISTORIES.c.reviews)
    rows: list[Any] = []
    for chunk in _chunks(ids):
        query = select(*columns).where(HISTORIES.c.team == team, HISTORIES.c.item_id.in_(chunk))
        rows.extend(conn.execute(query))
    return Unpacker(
        [row.item_id for row in rows],
        stored_texts(conn, team),
        [row.transitions for row in rows],
        [row.flags for row in rows],
        [row.reviews for row in rows],
    )


def _union(stored: Sequence[E], new: Sequence[E], key: Callable[[E], Any]) -> tuple[E, ...]:
    """``stored`` and ``new`` events as one history ordered by time; an event in both once."""
    events = {key(event): event for event in stored}
    events.update((key(event), event) for event in new)
    return tuple(sorted(events.values(), key=attrgetter("at")))


def _created_first(item: WorkItem, stored: tuple[Any, ...] | None) -> WorkItem:
    """``item``, created when its stored copy was if that was earlier (a file read from later)."""
    if stored is None or stored[0] >= item.created_at:
        return item
    return replace(item, created_at=stored[0])


def _merged(conn: Connection, team: str, histories: Sequence[ItemHistory]) -> list[ItemHistory]:
    """The histories with the events stored for their items added (a CSV re-import).

    A status change is the same change when its instant and statuses are: its stages come from
    the team's workflow, so a re-import after a workflow change restages it rather than adding it.
    The item is as the page has it now, created at the earliest instant either knows.
    """
    ids = [h.item.id for h in histories]
    created = _existing(conn, ITEMS, team, ids, "created_at")
    stored = _stored_histories(conn, team, ids)
    moves, flags, reviews = stored.transitions(), stored.flags(), stored.reviews()
    return [
        ItemHistory(
            _created_first(h.item, created.get(h.item.id)),
            _union(moves.get(h.item.id, ()), h.transitions, MOVE_IDENTITY),
            _union(flags.get(h.item.id, ()), h.flags, FLAG_IDENTITY),
            _union(reviews.get(h.item.id, ()), h.reviews, REVIEW_IDENTITY),
        )
        for h in histories
    ]


def write_histories(
    conn: Connection, histories: Sequence[ItemHistory], *, merge: bool = False
) -> WriteCounts:
    """Upsert items and replace their histories (``merge``: add to them); return what changed.

    Each item is written as its team's copy: another team's copy of it is left alone.
    """
    latest = {(h.item.team, h.item.id): h for h in histories}  # a page may repeat an item
    counts = WriteCounts()
    for team, team_histories in _by_team(latest.values(), lambda h: h.item.team).items():
        if merge:
            team_histories = _merged(conn, team, team_histories)
        counts.add(_write_team_histories(conn, team, team_histories))
    return counts


def _write_team_histories(
    conn: Connection, team: str, histories: Sequence[ItemHistory]
) -> WriteCounts:
    rows = [item_to_row(h.item) for h in histories]
    ids = [r["id"] for r in rows]
    compare = ("updated_at", "status", "title")
    counts = _count_changes(_existing(conn, ITEMS, team, ids, *compare), rows, compare)
    upsert(conn, ITEMS, rows)
    codes = dictionary_codes(conn, team, texts_of(histories))  # after the items: see its doc
    upsert(
        conn,
        HISTORIES,
        [
            {"team": team, "item_id": item_id, "transitions": t, "flags": f, "reviews": r}
            for item_id, (t, f, r) in zip(ids, packed(histories, codes), strict=True)
        ],
    )
    counts.events = sum(len(h.transitions) + len(h.flags) + len(h.reviews) for h in histories)
    return counts


def _write_records(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> WriteCounts:
    """Upsert delivery records, each as its team's copy; return what changed."""
    if not rows:
        return WriteCounts()
    rows = list({(r["team"], r["id"]): r for r in rows}.values())
    cols = tuple(c for c in rows[0] if c not in ("team", "id"))
    counts = WriteCounts()
    for team, team_rows in _by_team(rows, itemgetter("team")).items():
        existing = _existing(conn, table, team, [r["id"] for r in team_rows], *cols)
        counts.add(_count_changes(existing, team_rows, cols))
    upsert(conn, table, rows)
    return counts


def write_page(conn: Connection, page: Page) -> WriteCounts:
    """Write every record of ``page`` (not its cursor) on an open connection."""
    counts = write_histories(conn, page.histories, merge=page.merge_histories)
    counts.add(_write_records(conn, DEPLOYMENTS, [_deployment_row(d) for d in page.deployments]))
    counts.add(_write_records(conn, PIPELINE_RUNS, [_pipeline_row(r) for r in page.pipeline_runs]))
    counts.add(_write_records(conn, INCIDENTS, [_incident_row(i) for i in page.incidents]))
    upsert(conn, PLANS, list({_plan_key(p): _plan_row(p) for p in page.plans}.values()))
    remove_stale_plans(conn, page)
    return counts


def _plan_key(plan: Plan) -> tuple[str, str, str, str]:
    """A plan's primary key: a page naming one twice stores the last (one row per key)."""
    return plan.team, plan.source, plan.kind, plan.key


def remove_stale_plans(conn: Connection, page: Page) -> None:
    """Delete the stored plans of each of ``page``'s complete sets that the page does not name.

    A plan the page names is kept even when the database refused it: it exists at the vendor.
    """
    named = {_plan_key(plan) for plan in page.plans}
    for plan_set in dict.fromkeys(page.plan_sets):
        where = (
            PLANS.c.team == plan_set.team,
            PLANS.c.source == plan_set.source,
            PLANS.c.kind == plan_set.kind,
        )
        stored = conn.execute(select(PLANS.c.key).where(*where)).scalars()
        stale = [
            key
            for key in stored
            if (plan_set.team, plan_set.source, plan_set.kind, key) not in named
        ]
        for chunk in _chunks(stale):
            conn.execute(delete(PLANS).where(*where, PLANS.c.key.in_(chunk)))


def mark_removed(conn: Connection, live: LiveItems, now: datetime) -> int:
    """Mark removed (at ``now``) the stored items of ``live``'s scope (its team) that are not live.

    Returns how many items were newly marked. Items already marked keep their first date; a
    removed item listed live again (a vendor search that missed it for a while) is live again.
    """
    team = ITEMS.c.team == live.team
    gone, back = [], []
    query = select(ITEMS.c.id, ITEMS.c.removed_at).where(team, ITEMS.c.source == live.source)
    for item_id, removed_at in conn.execute(query):
        if item_id in live.ids:
            if removed_at is not None:
                back.append(item_id)
        elif removed_at is None and item_id.startswith(live.id_prefixes):
            gone.append(item_id)
    for chunk in _chunks(gone):
        conn.execute(ITEMS.update().where(team, ITEMS.c.id.in_(chunk)).values(removed_at=now))
    for chunk in _chunks(back):
        conn.execute(ITEMS.update().where(team, ITEMS.c.id.in_(chunk)).values(removed_at=None))
    return len(gone)


def _single_records(page: Page) -> Iterator[tuple[str, Page]]:
    """Each record of ``page`` as a page of its own, with the id that names it.

    The pages complete no plan set: :func:`_write_one_by_one` applies the sets after them all.
    """
    for history in page.histories:
        yield history.item.id, Page([history], merge_histories=page.merge_histories)
    for deployment in page.deployments:
        yield deployment.id, Page(deployments=[deployment])
    for run in page.pipeline_runs:
        yield run.id, Page(pipeline_runs=[run])
    for incident in page.incidents:
        yield incident.id, Page(incidents=[incident])
    for plan in page.plans:
        yield f"{plan.kind} {plan.key}", Page(plans=[plan])


def _refusal(exc: Exception) -> str:
    """The reason a record was refused, in a few words."""
    reason_of = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = str(reason_of).strip().splitlines()
    reason = lines[0] if lines else type(reason_of).__name__
    return reason if len(reason) <= 120 else reason[:119] + "…"


def _write_one_by_one(conn: Connection, source_key: str, page: Page) -> WriteCounts:
    """Write ``page`` record by record, skipping those the database refuses (one log line).

    Its plan sets are applied last, keeping every plan the page names (a refused one included).
    """
    counts, refused = WriteCounts(), []
    for record_id, single in _single_records(page):
        try:
            with conn.begin_nested():
                counts.add(write_page(conn, single))
        except REFUSED as exc:
            refused.append(f"{record_id} ({_refusal(exc)})")
    remove_stale_plans(conn, page)
    counts.refused = len(refused)
    if refused:
        log.warning(
            "%s: the database refused %d of %d records, skipped: %s",
            source_key,
            len(refused),
            page.record_count,
            "; ".join(refused),
        )
    return counts


def _write_storable(conn: Connection, source_key: str, page: Page) -> WriteCounts:
    """Write ``page`` in one batch; if the database refuses it, every record it accepts."""
    try:
        with conn.begin_nested():
            return write_page(conn, page)
    except REFUSED:
        return _write_one_by_one(conn, source_key, page)


def save_page(engine: Engine, source_key: str, page: Page, now: datetime) -> WriteCounts:
    """Store ``page`` and advance the source's cursor, atomically.

    A record the database refuses is skipped (counted in ``refused`` and logged by id) and the
    rest of the page is stored with the cursor; any other failure stores nothing.
    """
    with engine.begin() as conn:
        counts = _write_storable(conn, source_key, page)
        if page.live_items is not None:
            counts.removed = mark_removed(conn, page.live_items, now)
        if page.cursor is not None:
            upsert(
                conn,
                CURSORS,
                [{"source_key": source_key, "cursor": page.cursor, "updated_at": now}],
            )
    return counts


def load_cursor(engine: Engine, source_key: str) -> str | None:
    """The saved cursor of a source, or None before its first stored page."""
    with engine.connect() as conn:
        return conn.execute(
            select(CURSORS.c.cursor).where(CURSORS.c.source_key == source_key)
        ).scalar_one_or_none()


def reset_cursor(engine: Engine, source_key: str) -> None:
    """Forget a source's cursor: its next sync starts from the beginning (a full backfill)."""
    with engine.begin() as conn:
        conn.execute(delete(CURSORS).where(CURSORS.c.source_key == source_key))
