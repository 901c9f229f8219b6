"""The scopes a team tracks, and which scope a person names.

A team tracks the scopes of app.yaml ``scopes:`` and those tracked from Slack (``/vsm track``,
:mod:`storage.tracked_scopes`). :func:`team_scopes` is what every report, digest, detector and
burn-up reads. ``/vsm forecast release 2.3``, ``/vsm chart burnup epic PAY-100`` and
``vsm forecast`` name a scope by its kind and key: :func:`find_scope` is the tracked one (its
name and target) or an untracked one, named and dated as its vendor has it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import Engine

from bot.config import TeamConfig
from insights.model import Snapshot
from insights.scopes import ScopeKind, ScopeRef
from storage.tracked_scopes import TrackedScope, tracked_scopes


def team_scopes(engine: Engine, team: TeamConfig, snapshot: Snapshot) -> tuple[ScopeRef, ...]:
    """app.yaml's scopes in their order, then those tracked from Slack, first tracked first.

    A scope in both is app.yaml's. Each has its vendor's target date when it gives none.
    """
    configured = team.scope_refs()
    in_app_yaml = {(ref.kind, ref.key) for ref in configured}
    stored = [
        _stored_ref(scope, snapshot)
        for scope in tracked_scopes(engine, team.name)
        if (scope.kind, scope.key) not in in_app_yaml
    ]
    return tuple(ref.at_vendor(snapshot) for ref in (*configured, *stored))


def find_scope(
    engine: Engine,
    team: TeamConfig,
    snapshot: Snapshot,
    kind: ScopeKind,
    key: str,
    target: date | None = None,
) -> ScopeRef:
    """The scope ``kind`` ``key`` as the team tracks it (its name and target date).

    An untracked one is named and dated as its vendor has it: an epic after its title
    (``Card vaulting (PAY-100)``) with its due date, a release or a filter after its name with
    the release's date. ``target`` replaces the target date. Keys match in any case.
    """
    tracked = next(
        (
            ref
            for ref in team_scopes(engine, team, snapshot)
            if ref.kind == kind and ref.key.lower() == key.lower()
        ),
        None,
    )
    if tracked is None:
        tracked = ScopeRef(kind, key, None, vendor_name(snapshot, kind, key)).at_vendor(snapshot)
    return tracked if target is None else replace(tracked, target=target)


def vendor_name(snapshot: Snapshot, kind: ScopeKind, key: str) -> str:
    """What the vendor calls the scope; "" when it says nothing more than its key.

    An epic's title with its key, a filter's name, a release's name when it is not its key.
    """
    if kind == "epic":
        title = next((i.title for i in snapshot.items if i.key == key), None)
        return f"{title} ({key})" if title else ""
    plan = next((p for p in snapshot.plans if p.kind == kind and p.key == key), None)
    return plan.name if plan is not None and plan.name != key else ""


def _stored_ref(scope: TrackedScope, snapshot: Snapshot) -> ScopeRef:
    name = scope.name or vendor_name(snapshot, scope.kind, scope.key)
    return ScopeRef(scope.kind, scope.key, scope.target, name)
