"""The export contract: every stored record as one JSON object per line (``vsm export``).

Each line has a ``record`` field naming its kind: ``item``, ``transition``, ``flag``, ``review``,
``deployment``, ``pipeline_run``, ``incident`` or ``plan`` (a release or saved filter, with its
date and, for a filter, the keys it matched). Timestamps are ISO 8601 UTC. Items removed at
their vendor are exported too, with their ``removed_at``. Scripts rely on
these names; the README documents them and a test keeps them stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from insights.model import Snapshot

ITEM_FIELDS = (
    "id",
    "source",
    "key",
    "kind",
    "type",
    "title",
    "status",
    "stage",
    "created_at",
    "updated_at",
    "resolved_at",
    "assignee",
    "url",
    "removed_at",
)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _record(kind: str, obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {"record": kind, **{name: _value(getattr(obj, name)) for name in fields}}


def export_records(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    """Every record of a team snapshot, items first, each followed by its events."""
    for item in snapshot.items:
        yield {**_record("item", item, ITEM_FIELDS), "team": snapshot.team}
        for t in snapshot.transitions.get(item.id, ()):
            yield _record(
                "transition",
                t,
                ("item_id", "at", "from_status", "to_status", "from_stage", "to_stage"),
            )
        for f in snapshot.flags.get(item.id, ()):
            yield _record("flag", f, ("item_id", "at", "flagged", "inferred"))
        for r in snapshot.reviews.get(item.id, ()):
            yield _record("review", r, ("item_id", "at", "state", "reviewer"))
    for d in snapshot.deployments:
        yield _record(
            "deployment",
            d,
            (
                "id",
                "source",
                "environment",
                "outcome",
                "started_at",
                "finished_at",
                "sha",
                "repo",
                "shipped_item_ids",
                "url",
                "production",
            ),
        )
    for p in snapshot.pipeline_runs:
        yield _record(
            "pipeline_run",
            p,
            (
                "id",
                "source",
                "name",
                "branch",
                "outcome",
                "created_at",
                "started_at",
                "finished_at",
                "url",
                "sha",
            ),
        )
    for i in snapshot.incidents:
        yield _record(
            "incident",
            i,
            (
                "id",
                "source",
                "title",
                "created_at",
                "acknowledged_at",
                "resolved_at",
                "urgency",
                "url",
                "deployment_id",
            ),
        )
    for plan in snapshot.plans:
        yield _record(
            "plan", plan, ("source", "kind", "key", "name", "due_on", "done", "item_keys", "url")
        )
