"""The scopes a team tracks from Slack (``/vsm track``), beside app.yaml's ``scopes:``.

A scope is keyed by its team, kind and key (``release`` ``2.3``): tracking it again changes its
name and target date, and keeps who first tracked it and when.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Engine, Table, delete, select

from insights.scope_refs import ScopeKind
from storage.db import conflict_insert
from storage.tables import TrackedScopeRow

TRACKED_SCOPES = cast(Table, TrackedScopeRow.__table__)


@dataclass(frozen=True)
class TrackedScope:
    """A scope tracked at runtime; ``added_by`` is a Slack user id.

    ``target`` None means its vendor's date (a release's, an epic's due date), ``name`` None its
    vendor's name.
    """

    team: str
    kind: ScopeKind
    key: str
    name: str | None
    target: date | None
    added_by: str | None
    added_at: datetime


def track_scope(engine: Engine, scope: TrackedScope) -> None:
    """Track ``scope`` for its team; a scope tracked already gets the new name and target."""
    with engine.begin() as conn:
        stmt = conflict_insert(conn, TRACKED_SCOPES).values(asdict(scope))
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["team", "kind", "key"],
                set_={"name": stmt.excluded.name, "target": stmt.excluded.target},
            )
        )


def untrack_scope(engine: Engine, team: str, kind: ScopeKind, key: str) -> bool:
    """Stop tracking the scope; False when the team did not track it."""
    table = TRACKED_SCOPES
    condition = (table.c.team == team) & (table.c.kind == kind) & (table.c.key == key)
    with engine.begin() as conn:
        return bool(conn.execute(delete(table).where(condition)).rowcount)


def tracked_scopes(engine: Engine, team: str) -> list[TrackedScope]:
    """The scopes ``team`` tracks at runtime, the first tracked first."""
    table = TRACKED_SCOPES
    query = (
        select(table)
        .where(table.c.team == team)
        .order_by(table.c.added_at, table.c.kind, table.c.key)
    )
    with engine.connect() as conn:
        return [
            TrackedScope(
                r.team, cast(ScopeKind, r.kind), r.key, r.name, r.target, r.added_by, r.added_at
            )
            for r in conn.execute(query)
        ]
