"""The opaque JSON cursor of the HTTP sources: a versioned dict of per-repository sync state.

A source mutates its state as it pulls and stamps a copy on each page it yields, so the stored
cursor always describes exactly what is stored. An unreadable cursor stops the sync with a message
saying how to start over, instead of silently re-reading or skipping data.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.base import SourceError

VERSION = 1


def load_state(cursor: str | None, source: str) -> dict[str, Any]:
    """The state stored in ``cursor`` (a fresh one for None)."""
    if cursor is None:
        return {"v": VERSION}
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
