"""Read and write the normalized model: pages with their cursor, snapshots, health and exports.

Writes use SQLAlchemy Core batch statements. :func:`save_page` stores a page's records *and* the
cursor that follows it in one transaction, so a crash either keeps both or neither: a cursor never
runs ahead of the data. A record the database refuses (vendor text PostgreSQL cannot hold) is
skipped, counted and logged by id, and the rest of its page is stored.

Every record is stored per team, keyed by (team, id): two teams reading one source each keep their
own copy, with their own stages, and a write or a reconciliation of one team never touches another
team's rows. An item's events are replaced as a whole each time the item is written, so re-reading
an item is harmless and a vendor-side edit of its history is reflected exactly; a page marked
``merge_histories`` (a CSV re-import) adds its events to the stored ones instead.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import attrgetter, itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, delete, func, select, text
from sqlalchemy.exc import DataError, IntegrityError

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    LiveItems,
    Outcome,
    Page,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)
from storage.db import conflict_insert
from storage.tables import (
    CursorRow,
    DeploymentRow,
    FlagRow,
    IncidentRow,
    ItemRow,
    PipelineRunRow,
    ReviewRow,
    SourceHealthRow,
    TransitionRow,
)

ITEMS = cast(Table, ItemRow.__table__)
TRANSITIONS = cast(Table, TransitionRow.__table__)
FLAGS = cast(Table, FlagRow.__table__)
REVIEWS = cast(Table, ReviewRow.__table__)
DEPLOYMENTS = cast(Table, DeploymentRow.__table__)
PIPELINE_RUNS = cast(Table, PipelineRunRow.__table__)
INCIDENTS = cast(Table, IncidentRow.__table__)
CURSORS = cast(Table, CursorRow.__table__)
HEALTH = cast(Table, SourceHealthRow.__table__)
ID_CHUNK = 500
"""Ids per ``IN (...)`` clause: well under SQLite's bound-parameter limit."""
REFUSED = (DataError, IntegrityError)
"""What a database raises for a record it cannot hold (a NUL in text, a broken reference)."""
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


@dataclass(frozen=True)
class SourceHealth:
    """A source's sync health as stored."""

    source_key: str
    team: str
    source: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    records_seen: int
    skipped: int
    unmapped_statuses: list[str] = field(default_factory=list)


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
    }


TRANSITION_COLUMNS = (
    "team", "item_id", "seq", "at", "from_status", "to_status", "from_stage", "to_stage"
)  # fmt: skip
FLAG_COLUMNS = ("team", "item_id", "seq", "at", "flagged", "inferred")
REVIEW_COLUMNS = ("team", "item_id", "seq", "at", "state", "reviewer")


def _utc_writer(conn: Connection) -> Callable[[datetime], Any]:
    """How an event instant is handed to the driver: the inverse of :func:`_utc_reader`.

    SQLite stores the naive UTC text SQLAlchemy's DateTime writes (``2026-03-01 09:30:15.000000``);
    PostgreSQL takes the aware instant.
    """
    if conn.dialect.name != "sqlite":
        return lambda value: value

    def write_sqlite(value: datetime) -> str:
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(" ", "microseconds")[:26]

    return write_sqlite


def _event_rows(
    team: str, histories: Sequence[ItemHistory], at: Callable[[datetime], Any]
) -> tuple[list[tuple[Any, ...]], ...]:
    transitions: list[tuple[Any, ...]] = []
    flags: list[tuple[Any, ...]] = []
    reviews: list[tuple[Any, ...]] = []
    for history in histories:
        transitions.extend(
            (
                team,
                t.item_id,
                seq,
                at(t.at),
                t.from_status,
                t.to_status,
                t.from_stage.value if t.from_stage else None,
                t.to_stage.value,
            )
            for seq, t in enumerate(history.transitions)
        )
        flags.extend(
            (team, f.item_id, seq, at(f.at), f.flagged, f.inferred)
            for seq, f in enumerate(history.flags)
        )
        reviews.extend(
            (team, r.item_id, seq, at(r.at), r.state.value, r.reviewer)
            for seq, r in enumerate(history.reviews)
        )
    return transitions, flags, reviews


def _insert_raw(
    conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows with the driver's executemany, skipping SQLAlchemy's per-row work.

    Events are the bulk of every write (ten or more per item); values must already be in the
    driver's form (see :func:`_utc_writer`).
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    conn.exec_driver_sql(sql, rows)


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


def _stored_transition(
    item_id: str, at: datetime, old: str | None, new: str, was: str | None, now: str
) -> Transition:
    return Transition(item_id, at, old, new, STAGES[was], Stage(now))


def _stored_flag(item_id: str, at: datetime, flagged: bool, inferred: bool) -> FlagChange:
    return FlagChange(item_id, at, flagged, inferred)


def _stored_review(item_id: str, at: datetime, state: str, reviewer: str | None) -> ReviewEvent:
    return ReviewEvent(item_id, at, REVIEW_STATES[state], reviewer)


def _read_events(
    conn: Connection, table: Table, team: str, ids: Sequence[str], build: Callable[..., Any]
) -> dict[str, list[Any]]:
    """The stored events of ``team``'s items ``ids``, built by ``build`` from their columns."""
    columns = [table.c[name] for name in EVENT_COLUMNS[table.name]]
    found: dict[str, list[Any]] = {}
    for chunk in _chunks(ids):
        query = (
            select(*columns)
            .where(table.c.team == team, table.c.item_id.in_(chunk))
            .order_by(table.c.item_id, table.c.seq)
        )
        for row in conn.execute(query):
            found.setdefault(row[0], []).append(build(*row))
    return found


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
    moves = _read_events(conn, TRANSITIONS, team, ids, _stored_transition)
    flags = _read_events(conn, FLAGS, team, ids, _stored_flag)
    reviews = _read_events(conn, REVIEWS, team, ids, _stored_review)
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
    """Upsert items and replace their events (``merge``: add to them); return what changed.

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
    for table in (TRANSITIONS, FLAGS, REVIEWS):
        for chunk in _chunks(ids):
            conn.execute(delete(table).where(table.c.team == team, table.c.item_id.in_(chunk)))
    tables = ((TRANSITIONS, TRANSITION_COLUMNS), (FLAGS, FLAG_COLUMNS), (REVIEWS, REVIEW_COLUMNS))
    for (table, columns), event_rows in zip(
        tables, _event_rows(team, histories, _utc_writer(conn)), strict=True
    ):
        if event_rows:
            _insert_raw(conn, table, columns, event_rows)
            counts.events += len(event_rows)
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
    return counts


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
    """Each record of ``page`` as a page of its own, with the id that names it."""
    for history in page.histories:
        yield history.item.id, Page([history], merge_histories=page.merge_histories)
    for deployment in page.deployments:
        yield deployment.id, Page(deployments=[deployment])
    for run in page.pipeline_runs:
        yield run.id, Page(pipeline_runs=[run])
    for incident in page.incidents:
        yield incident.id, Page(incidents=[incident])


def _refusal(exc: DataError | IntegrityError) -> str:
    """The database's reason for refusing a record, in a few words."""
    lines = str(exc.orig).strip().splitlines()
    reason = lines[0] if lines else type(exc.orig).__name__
    return reason if len(reason) <= 120 else reason[:119] + "…"


def _write_one_by_one(conn: Connection, source_key: str, page: Page) -> WriteCounts:
    """Write ``page`` record by record, skipping those the database refuses (one log line)."""
    counts, refused = WriteCounts(), []
    for record_id, single in _single_records(page):
        try:
            with conn.begin_nested():
                counts.add(write_page(conn, single))
        except REFUSED as exc:
            refused.append(f"{record_id} ({_refusal(exc)})")
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


def record_health(
    engine: Engine,
    *,
    source_key: str,
    team: str,
    source: str,
    now: datetime,
    error: str | None = None,
    records: int = 0,
    skipped: int = 0,
    unmapped: Iterable[str] = (),
) -> None:
    """Record the outcome of one sync of a source."""
    with engine.begin() as conn:
        previous = conn.execute(select(HEALTH).where(HEALTH.c.source_key == source_key)).first()
        failures = previous.consecutive_failures if previous is not None else 0
        row: dict[str, Any] = {
            "source_key": source_key,
            "team": team,
            "source": source,
            "last_attempt_at": now,
            "last_success_at": previous.last_success_at if previous is not None else None,
            "last_error_at": previous.last_error_at if previous is not None else None,
            "last_error": previous.last_error if previous is not None else None,
            "consecutive_failures": failures + 1 if error else 0,
            "records_seen": records,
            "skipped": skipped,
            "unmapped_statuses": sorted(set(unmapped)),
        }
        if error:
            row.update(last_error_at=now, last_error=error)
        else:
            row.update(last_success_at=now)
        upsert(conn, HEALTH, [row])


def load_health(engine: Engine, team: str | None = None) -> list[SourceHealth]:
    """Every source's health, optionally for one team."""
    query = select(HEALTH).order_by(HEALTH.c.source_key)
    if team is not None:
        query = query.where(HEALTH.c.team == team)
    with engine.connect() as conn:
        return [SourceHealth(**row._asdict()) for row in conn.execute(query)]


STAGES: dict[str | None, Stage | None] = {None: None, **{stage.value: stage for stage in Stage}}
KINDS = {kind.value: kind for kind in ItemKind}
REVIEW_STATES = {state.value: state for state in ReviewState}
ITEM_FIELDS = (
    "id", "team", "source", "key", "kind", "type", "title", "status", "stage", "created_at",
    "updated_at", "resolved_at", "assignee", "url", "priority", "labels", "parent_key",
    "story_points", "blocked_by", "author", "draft", "merged_at", "first_commit_at", "head_branch",
    "additions", "deletions", "changed_files", "merge_sha", "linked_keys", "removed_at",
)  # fmt: skip
"""The ``items`` columns the loader reads: the fields of WorkItem, in order."""
ITEM_TIMESTAMPS = frozenset(
    ("created_at", "updated_at", "resolved_at", "merged_at", "first_commit_at", "removed_at")
)
ITEM_LISTS = frozenset(("labels", "blocked_by", "linked_keys"))
TRANSITION_FIELDS = ("item_id", "at", "from_status", "to_status", "from_stage", "to_stage")
EVENT_COLUMNS = {
    "transitions": TRANSITION_FIELDS,
    "flags": ("item_id", "at", "flagged", "inferred"),
    "reviews": ("item_id", "at", "state", "reviewer"),
}
"""The columns an event is built from, in the order of its fields."""
MOVE_IDENTITY = attrgetter("at", "from_status", "to_status")
FLAG_IDENTITY = attrgetter("at", "flagged")
REVIEW_IDENTITY = attrgetter("at", "state", "reviewer")
"""What makes two events of one item the same event, when histories are merged."""


def _check_fields() -> None:
    """The loader builds items and changes field by field: a new field must be read there too."""
    for model, names in ((WorkItem, ITEM_FIELDS), (Transition, TRANSITION_FIELDS)):
        if tuple(f.name for f in fields(model)) != names:  # pragma: no cover
            raise RuntimeError(f"insights.model.{model.__name__} changed: update load_snapshot")


_check_fields()
LIVE_ITEMS = "team = :team AND removed_at IS NULL"
"""The items a snapshot holds: the team's, less those removed at their vendor."""
ALL_ITEMS = "team = :team"
"""The items an export holds: removed ones too."""


def _events_of(items: str) -> str:
    """The condition selecting the events of the items that ``items`` selects (one team's)."""
    if items == ALL_ITEMS:
        return "team = :team"
    return f"team = :team AND item_id IN (SELECT id FROM items WHERE {items})"


_new = object.__new__
_ITEM_SETTERS = tuple(getattr(WorkItem, name).__set__ for name in ITEM_FIELDS)


def _utc_reader(conn: Connection) -> tuple[Callable[[Any], datetime], str | None]:
    """How to turn a raw timestamp value into an aware UTC datetime on this database.

    The function for a non-null value, and the text to append to the value first (None: none).

    The snapshot loader reads raw driver values (no per-value SQLAlchemy processing) because it
    handles millions of rows. SQLite stores naive UTC text: with ``"+00:00"`` appended, the C
    parser ``datetime.fromisoformat`` does all the work. PostgreSQL returns aware datetimes in
    the session's time zone (UTC, see storage.db).
    """
    if conn.dialect.name == "sqlite":
        return datetime.fromisoformat, "+00:00"

    def read_aware(value: Any) -> datetime:
        return value if value.tzinfo is UTC else value.astimezone(UTC)  # type: ignore[no-any-return]

    return read_aware, None


def _timestamps(conn: Connection) -> Callable[[Any], datetime]:
    """The converter of timestamp values (see :func:`_utc_reader`)."""
    parse, suffix = _utc_reader(conn)
    if suffix is None:
        return parse
    return lambda value: parse(value + suffix)


def _optional_timestamps(conn: Connection) -> Callable[[Any], datetime | None]:
    """The converter of nullable timestamp values (see :func:`_utc_reader`)."""
    timestamp = _timestamps(conn)
    return lambda value: None if value is None else timestamp(value)


def _raw_batches(conn: Connection, sql: str, team: str) -> Iterator[Sequence[Any]]:
    """Rows of ``sql`` (one ``:team`` parameter) straight from the driver's cursor, in batches."""
    compiled = text(sql).bindparams(team=team).compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, params)
        while rows := cursor.fetchmany(20_000):
            yield rows
    finally:
        cursor.close()


def _raw_rows(conn: Connection, sql: str, team: str) -> Iterator[Any]:
    """Rows of ``sql`` (one ``:team`` parameter) straight from the driver's cursor."""
    return chain.from_iterable(_raw_batches(conn, sql, team))


def _json_tuple(value: Any) -> tuple[str, ...]:
    if not value or value == "[]":
        return ()
    return tuple(json.loads(value) if isinstance(value, str) else value)


def _load_items(conn: Connection, team: str, scope: str) -> list[WorkItem]:
    """The team's work items, by id.

    Each is built field by field, without ``WorkItem.__init__``: its checks (UTC instants) hold
    by construction for what this loader reads, and skipping them makes loading a large team a
    third faster.
    """
    timestamp = _optional_timestamps(conn)
    converters: list[Callable[[Any], Any] | None] = []
    for name in ITEM_FIELDS:
        if name in ITEM_TIMESTAMPS:
            converters.append(timestamp)
        elif name in ITEM_LISTS:
            converters.append(_json_tuple)
        elif name == "kind":
            converters.append(KINDS.__getitem__)
        elif name == "stage":
            converters.append(STAGES.__getitem__)
        elif name == "draft":
            converters.append(bool)
        else:
            converters.append(None)
    steps = tuple(zip(_ITEM_SETTERS, converters, strict=True))
    items = []
    query = f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE {scope} ORDER BY id"
    for row in _raw_rows(conn, query, team):
        item = _new(WorkItem)
        for (set_field, convert), value in zip(steps, row, strict=True):
            set_field(item, value if convert is None else convert(value))
        items.append(item)
    return items


def _load_transitions(
    conn: Connection, team: str, scope: str, ids: dict[str, str]
) -> dict[str, Sequence[Transition]]:
    """The team's status changes by item id, in order.

    A million changes are built here for a large team: each is made field by field, without
    ``Transition.__init__`` (whose UTC check holds by construction), which halves their cost.
    ``ids`` maps each item id to the item's own string, which the changes share.
    """
    parse, suffix = _utc_reader(conn)
    query = (
        "SELECT item_id, at, from_status, to_status, from_stage, to_stage "
        f"FROM transitions WHERE {_events_of(scope)} ORDER BY item_id, seq"
    )
    grouped: dict[str, Sequence[Transition]] = {}
    stages, new, kind = STAGES, _new, Transition
    current: str | None = None  # the item id of the changes being read, as the driver gave it
    owner = ""  # and as the item has it
    events: list[Transition] = []
    for item_id, at, from_status, to_status, from_stage, to_stage in _raw_rows(conn, query, team):
        if item_id != current:
            current, owner, events = item_id, ids.get(item_id, item_id), []
            grouped[owner] = events
        transition = new(kind)
        transition.item_id = owner
        transition.at = parse(at + suffix) if suffix else parse(at)
        transition.from_status = from_status
        transition.to_status = to_status
        transition.from_stage = stages[from_stage]
        transition.to_stage = stages[to_stage]  # type: ignore[assignment]
        events.append(transition)
    return grouped


def _load_flags(conn: Connection, team: str, scope: str) -> dict[str, Sequence[FlagChange]]:
    timestamp = _timestamps(conn)
    query = (
        "SELECT item_id, at, flagged, inferred "
        f"FROM flags WHERE {_events_of(scope)} ORDER BY item_id, seq"
    )
    return {
        item_id: [
            FlagChange(item_id, timestamp(at), bool(flagged), bool(inferred))
            for _, at, flagged, inferred in group
        ]
        for item_id, group in groupby(_raw_rows(conn, query, team), key=itemgetter(0))
    }


def _load_reviews(conn: Connection, team: str, scope: str) -> dict[str, Sequence[ReviewEvent]]:
    timestamp = _timestamps(conn)
    query = (
        "SELECT item_id, at, state, reviewer "
        f"FROM reviews WHERE {_events_of(scope)} ORDER BY item_id, seq"
    )
    return {
        item_id: [
            ReviewEvent(item_id, timestamp(at), REVIEW_STATES[state], reviewer)
            for _, at, state, reviewer in group
        ]
        for item_id, group in groupby(_raw_rows(conn, query, team), key=itemgetter(0))
    }


def _deployment_from_row(row: Any) -> Deployment:
    return Deployment(
        id=row.id,
        team=row.team,
        source=row.source,
        environment=row.environment,
        outcome=Outcome(row.outcome),
        finished_at=row.finished_at,
        started_at=row.started_at,
        sha=row.sha,
        repo=row.repo,
        shipped_item_ids=tuple(row.shipped_item_ids or ()),
        url=row.url,
        production=bool(row.production),
    )


def _pipeline_from_row(row: Any) -> PipelineRun:
    return PipelineRun(
        id=row.id,
        team=row.team,
        source=row.source,
        name=row.name,
        branch=row.branch,
        outcome=Outcome(row.outcome),
        started_at=row.started_at,
        finished_at=row.finished_at,
        url=row.url,
        created_at=row.created_at,
    )


def _incident_from_row(row: Any) -> Incident:
    return Incident(
        id=row.id,
        team=row.team,
        source=row.source,
        title=row.title,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        urgency=row.urgency,
        url=row.url,
        deployment_id=row.deployment_id,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_snapshot(
    engine: Engine, team: str, statuses: Sequence[str] = (), *, include_removed: bool = False
) -> Snapshot:
    """Everything stored for ``team``, as the immutable input of the metrics.

    Items removed at their vendor (deleted, or moved out of the team's scope) are left out,
    since they are out of every metric; ``include_removed`` keeps them (the export does).

    Items and their events (the bulk of the data) are read as raw driver rows for speed; the
    smaller delivery tables go through SQLAlchemy's typed results. A large team is millions of
    acyclic objects, so the cyclic garbage collector is paused while loading: otherwise the
    collections the allocations trigger rescan the growing snapshot again and again. A
    long-running caller may also ``gc.freeze()`` the snapshot afterwards (benchmarks/insights.py).
    """
    with engine.connect() as conn, _collector_paused():
        scope = ALL_ITEMS if include_removed else LIVE_ITEMS
        items = _load_items(conn, team, scope)
        transitions = _load_transitions(conn, team, scope, {item.id: item.id for item in items})
        flags = _load_flags(conn, team, scope)
        reviews = _load_reviews(conn, team, scope)
        deployments = [
            _deployment_from_row(r)
            for r in conn.execute(
                select(DEPLOYMENTS)
                .where(DEPLOYMENTS.c.team == team)
                .order_by(DEPLOYMENTS.c.finished_at, DEPLOYMENTS.c.id)
            )
        ]
        runs = [
            _pipeline_from_row(r)
            for r in conn.execute(
                select(PIPELINE_RUNS)
                .where(PIPELINE_RUNS.c.team == team)
                .order_by(PIPELINE_RUNS.c.started_at, PIPELINE_RUNS.c.id)
            )
        ]
        incidents = [
            _incident_from_row(r)
            for r in conn.execute(
                select(INCIDENTS)
                .where(INCIDENTS.c.team == team)
                .order_by(INCIDENTS.c.created_at, INCIDENTS.c.id)
            )
        ]
    return Snapshot(
        team=team,
        items=items,
        transitions=transitions,
        flags=flags,
        reviews=reviews,
        deployments=deployments,
        pipeline_runs=runs,
        incidents=incidents,
        statuses=tuple(statuses),
    )


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every data table (what ``vsm sync`` compares run to run)."""
    tables = (ITEMS, TRANSITIONS, FLAGS, REVIEWS, DEPLOYMENTS, PIPELINE_RUNS, INCIDENTS, CURSORS)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }
