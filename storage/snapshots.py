"""Load what is stored for a team as a :class:`~insights.model.Snapshot`, and count it.

:func:`load_snapshot` is the input of every metric and of ``vsm export`` (which keeps the items
removed at their vendor). A large team is a hundred thousand items and a million events: items and
their packed histories (``storage.histories``) come in one query of raw driver rows, the events are
decoded in bulk, and the smaller delivery tables go through SQLAlchemy's typed results.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, func, select, text

from insights.model import (
    Deployment,
    Incident,
    ItemKind,
    Outcome,
    PipelineRun,
    Plan,
    Snapshot,
    Stage,
    WorkItem,
)
from storage.histories import FLAG, REVIEW, TRANSITION, Unpacker, stored_texts
from storage.tables import (
    CURSORS,
    DEPLOYMENTS,
    HISTORIES,
    INCIDENTS,
    ITEMS,
    PIPELINE_RUNS,
    PLANS,
)

R = TypeVar("R")
STAGES: dict[str | None, Stage | None] = {None: None, **{stage.value: stage for stage in Stage}}
KINDS = {kind.value: kind for kind in ItemKind}
ITEM_FIELDS = (
    "id", "team", "source", "key", "kind", "type", "title", "status", "stage", "created_at",
    "updated_at", "resolved_at", "assignee", "url", "priority", "labels", "parent_key",
    "story_points", "blocked_by", "author", "draft", "merged_at", "first_commit_at", "head_branch",
    "additions", "deletions", "changed_files", "merge_sha", "linked_keys", "removed_at",
    "releases", "due_on",
)  # fmt: skip
"""The fields of WorkItem, in order: the ``items`` columns the loader reads (``team`` aside)."""
ITEM_TIMESTAMPS = frozenset(
    ("created_at", "updated_at", "resolved_at", "merged_at", "first_commit_at", "removed_at")
)
ITEM_LISTS = frozenset(("labels", "blocked_by", "linked_keys", "releases"))
ITEM_DATES = frozenset(("due_on",))
EVENT_COUNTS = {"transitions": TRANSITION, "flags": FLAG, "reviews": REVIEW}
"""The events :func:`table_counts` counts, by the packed layout of one."""
LIVE_ITEMS = "items.team = :team AND items.removed_at IS NULL"
"""The items a snapshot holds: the team's, less those removed at their vendor."""
ALL_ITEMS = "items.team = :team"
"""The items an export holds: removed ones too."""


def _check_fields() -> None:
    """The loader builds items field by field: a new field must be read there too."""
    if tuple(f.name for f in fields(WorkItem)) != ITEM_FIELDS:  # pragma: no cover
        raise RuntimeError("insights.model.WorkItem changed: update storage.snapshots")


_check_fields()
_new = object.__new__
_SETTERS = {name: getattr(WorkItem, name).__set__ for name in ITEM_FIELDS}


def _timestamp_reading(conn: Connection) -> tuple[str, Callable[[Any], datetime]]:
    """How the loader reads a timestamp column on this database.

    The SQL reading column ``{}``, and the function turning its non-null raw value into an aware
    UTC datetime. The loader reads raw driver values (no per-value SQLAlchemy processing) for a
    large team's sake. SQLite stores naive UTC text: with ``+00:00`` appended by SQLite, the C
    parser ``datetime.fromisoformat`` does all the work. PostgreSQL returns aware datetimes in the
    session's time zone (UTC, see storage.db).
    """
    if conn.dialect.name == "sqlite":
        return "{} || '+00:00'", datetime.fromisoformat

    def read_aware(value: Any) -> datetime:
        return value if value.tzinfo is UTC else value.astimezone(UTC)  # type: ignore[no-any-return]

    return "{}", read_aware


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


def _json_tuple(value: Any) -> tuple[str, ...]:
    if not value or value == "[]":
        return ()
    return tuple(json.loads(value) if isinstance(value, str) else value)


def _calendar_day(value: Any) -> date:
    """A ``Date`` column's raw value: ISO text on SQLite, a date on PostgreSQL."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _item_builder(conn: Connection, team: str) -> Callable[[Sequence[Any]], WorkItem]:
    """The function building a WorkItem of ``team`` from its raw row (:func:`_item_columns`).

    Each is built field by field, without ``WorkItem.__init__``: its checks (UTC instants) hold
    by construction for what this loader reads, and skipping them makes loading a large team a
    third faster. A null value is None as it is: only the nullable columns hold one.
    """
    _, timestamp = _timestamp_reading(conn)
    steps: list[tuple[Callable[[Any, Any], None], Callable[[Any], Any] | None]] = []
    for name in ITEM_FIELDS:
        if name == "team":
            continue
        convert: Callable[[Any], Any] | None = None
        if name in ITEM_TIMESTAMPS:
            convert = timestamp
        elif name in ITEM_LISTS:
            convert = _json_tuple
        elif name in ITEM_DATES:
            convert = _calendar_day
        elif name == "kind":
            convert = KINDS.__getitem__
        elif name == "stage":
            convert = STAGES.__getitem__
        elif name == "draft":
            convert = bool
        steps.append((_SETTERS[name], convert))
    set_team = _SETTERS["team"]

    def build(row: Sequence[Any]) -> WorkItem:
        item = _new(WorkItem)
        set_team(item, team)
        for (set_field, convert), value in zip(steps, row, strict=False):
            set_field(item, value if convert is None or value is None else convert(value))
        return item

    return build


def _item_columns(conn: Connection) -> str:
    """The SQL of the ``items`` columns the loader reads: ``ITEM_FIELDS`` but the team."""
    timestamp, _ = _timestamp_reading(conn)
    return ", ".join(
        timestamp.format(f"items.{name}") if name in ITEM_TIMESTAMPS else f"items.{name}"
        for name in ITEM_FIELDS
        if name != "team"
    )


def _load_items(conn: Connection, team: str, scope: str) -> tuple[list[WorkItem], Unpacker]:
    """The team's work items in ``scope``, by id, and their histories to decode."""
    query = (
        f"SELECT {_item_columns(conn)}, h.transitions, h.flags, h.reviews FROM items "
        "LEFT JOIN histories AS h ON h.team = items.team AND h.item_id = items.id "
        f"WHERE {scope} ORDER BY items.id"
    )
    build = _item_builder(conn, team)
    items: list[WorkItem] = []
    transitions: list[bytes | None] = []
    flags: list[bytes | None] = []
    reviews: list[bytes | None] = []
    for rows in _raw_batches(conn, query, team):
        items.extend(map(build, rows))
        for row in rows:
            transitions.append(row[-3])
            flags.append(row[-2])
            reviews.append(row[-1])
    owners = [item.id for item in items]
    return items, Unpacker(owners, stored_texts(conn, team), transitions, flags, reviews)


def _records(
    conn: Connection, table: Table, team: str, instant: str, build: Callable[[Any], R]
) -> list[R]:
    """The team's delivery records of ``table``, oldest ``instant`` first (then by id)."""
    query = select(table).where(table.c.team == team).order_by(table.c[instant], table.c.id)
    return [build(row) for row in conn.execute(query)]


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
        sha=row.sha,
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


def _plan_from_row(row: Any) -> Plan:
    return Plan(
        team=row.team,
        source=row.source,
        kind=row.kind,
        key=row.key,
        name=row.name,
        due_on=row.due_on,
        done=row.done,
        item_keys=tuple(row.item_keys or ()),
        url=row.url,
    )


def _plans(conn: Connection, team: str) -> list[Plan]:
    """The team's releases and saved filters, by source, kind and key."""
    query = (
        select(PLANS)
        .where(PLANS.c.team == team)
        .order_by(PLANS.c.source, PLANS.c.kind, PLANS.c.key)
    )
    return [_plan_from_row(row) for row in conn.execute(query)]


def load_snapshot(
    engine: Engine, team: str, statuses: Sequence[str] = (), *, include_removed: bool = False
) -> Snapshot:
    """Everything stored for ``team``, as the immutable input of the metrics.

    Items removed at their vendor (deleted, or moved out of the team's scope) are left out,
    since they are out of every metric; ``include_removed`` keeps them (the export does).

    A large team is millions of acyclic objects, so the cyclic garbage collector is paused while
    loading: otherwise the collections the allocations trigger rescan the growing snapshot again
    and again. A long-running caller may also ``gc.freeze()`` the snapshot afterwards
    (benchmarks/insights.py).
    """
    with engine.connect() as conn, _collector_paused():
        items, histories = _load_items(conn, team, ALL_ITEMS if include_removed else LIVE_ITEMS)
        deployments = _records(conn, DEPLOYMENTS, team, "finished_at", _deployment_from_row)
        runs = _records(conn, PIPELINE_RUNS, team, "started_at", _pipeline_from_row)
        incidents = _records(conn, INCIDENTS, team, "created_at", _incident_from_row)
        return Snapshot(
            team=team,
            items=items,
            transitions=histories.transitions(),  # type: ignore[arg-type]
            flags=histories.flags(),  # type: ignore[arg-type]
            reviews=histories.reviews(),  # type: ignore[arg-type]
            deployments=deployments,
            pipeline_runs=runs,
            incidents=incidents,
            statuses=tuple(statuses),
            plans=tuple(_plans(conn, team)),
        )


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every data table, and events of each kind (what ``vsm sync`` compares)."""
    tables = (ITEMS, DEPLOYMENTS, PIPELINE_RUNS, INCIDENTS, CURSORS)
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }
        sizes = [
            func.coalesce(func.sum(func.length(HISTORIES.c[kind])), 0) for kind in EVENT_COUNTS
        ]
        stored = conn.execute(select(*sizes)).one()
    for (kind, layout), size in zip(EVENT_COUNTS.items(), stored, strict=True):
        counts[kind] = size // layout.itemsize
    return counts
