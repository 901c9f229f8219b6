"""The opaque JSON cursor of the HTTP sources: a versioned dict of per-repository sync state.

A source mutates its state as it pulls and stamps a copy on each page it yields, so the stored
cursor always describes exactly what is stored. An unreadable cursor stops the sync with a message
saying how to start over, instead of silently re-reading or skipping data.

The state also records (``fields``, :data:`FIELDS`) which fields of the records the source read
when it stored them. A cursor written before the source read a field it reads now keeps the
records stored without it until each happens to change, so :func:`forget_for_new_fields` drops
the positions of the streams holding those records: they are read again once, in full.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from integrations.base import SourceError

VERSION = 1
FIELDS = 2
"""The fields the sources read. 1: before releases; 2: Jira issues' fix versions and due date,
GitHub pull requests' and GitLab merge requests' milestone (their ``releases``)."""


def load_state(cursor: str | None, source: str) -> dict[str, Any]:
    """The state stored in ``cursor`` (a fresh one for None)."""
    if cursor is None:
        return {"v": VERSION, "fields": FIELDS}
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("v") != VERSION:
        raise SourceError(
            f"{source}: the saved cursor is not one this version understands ({cursor[:80]!r}); "
            "reset the source's cursor to re-read it from the beginning"
        )
    return state


def dump_state(state: dict[str, Any]) -> str:
    """The cursor text of ``state`` (compact, keys sorted so equal states give equal text)."""
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def section(state: dict[str, Any], *path: str) -> dict[str, Any]:
    """The nested dict at ``path`` in ``state``, created empty when missing."""
    node = state
    for key in path:
        node = node.setdefault(key, {})
    return node


def fields_behind(recorded: Any) -> bool:
    """True when a cursor's ``fields`` (absent in cursors written before it) is below FIELDS."""
    return not isinstance(recorded, int) or isinstance(recorded, bool) or recorded < FIELDS


def forget_for_new_fields(state: dict[str, Any], streams: Iterable[tuple[str, ...]]) -> bool:
    """Drop the sections at ``streams`` when ``state`` was written before FIELDS; True if so.

    The state then records FIELDS: the pages of the re-read carry it, so an interrupted re-read
    resumes where it stopped (the streams not reached yet have no position: they read in full).
    """
    if not fields_behind(state.get("fields")):
        return False
    for *parents, stream in streams:
        section(state, *parents).pop(stream, None)
    state["fields"] = FIELDS
    return True
