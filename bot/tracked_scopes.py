"""Which scope a person names: the one the team tracks (its name and target), or an untracked one.

``/vsm forecast epic PAY-100``, ``/vsm chart burnup label release-2.3`` and ``vsm chart burnup``
name a scope by its kind and key; app.yaml ``scopes:`` may give it a name and a target date.
"""

from __future__ import annotations

from datetime import date

from bot.config import TeamConfig
from insights.model import Snapshot
from insights.scopes import ScopeKind, ScopeRef


def find_scope(
    team: TeamConfig, snapshot: Snapshot, kind: ScopeKind, key: str, target: date | None = None
) -> ScopeRef:
    """The scope ``kind`` ``key`` as the team tracks it in app.yaml (its name and target date).

    An untracked epic is named after its title in the snapshot (``Card vaulting (PAY-100)``);
    ``target`` replaces the tracked target date.
    """
    tracked = next((r for r in team.scope_refs() if (r.kind, r.key) == (kind, key)), None)
    if tracked is None:
        title = next((i.title for i in snapshot.items if i.key == key), None)
        name = f"{title} ({key})" if kind == "epic" and title else ""
        tracked = ScopeRef(kind, key, None, name)
    if target is None:
        return tracked
    return ScopeRef(tracked.kind, tracked.key, target, tracked.name)
