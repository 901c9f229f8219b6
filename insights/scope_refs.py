"""What a scope is: an epic, a label, a release or a saved filter, and which items it holds.

See :mod:`insights.scopes` for what each kind holds and how a scope is forecast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from insights.model import Plan, Snapshot, WorkItem

ScopeKind = Literal["epic", "label", "release", "filter"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("epic", "label", "release", "filter")


@dataclass(frozen=True)
class ScopeRef:
    """A piece of work a team tracks (an epic, a label, a release, a filter), maybe with a date."""

    kind: ScopeKind
    key: str
    target: date | None = None
    name: str = ""
    """What people call it; defaults to "epic PAY-100" or "label release-2.3"."""

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"a scope is one of {', '.join(SCOPE_KINDS)}; got {self.kind!r}")
        if not self.key.strip():
            raise ValueError(f"the {self.kind} of a scope must not be blank")
        if not self.name:
            object.__setattr__(self, "name", f"{self.kind} {self.key}")

    def members(self, snapshot: Snapshot) -> Callable[[WorkItem], bool]:
        """Whether an item of ``snapshot`` belongs to the scope (whatever its stage)."""
        key = self.key
        if self.kind == "epic":
            return lambda item: item.parent_key == key
        if self.kind == "label":
            return lambda item: key in item.labels
        if self.kind == "filter":
            matched = {k for plan in _plans(snapshot, self) for k in plan.item_keys}
            return lambda item: item.key in matched
        linked = {
            linked_key
            for pr in snapshot.pull_requests()
            if key in pr.releases
            for linked_key in pr.linked_keys
        }
        return lambda item: key in item.releases or item.key in linked

    def at_vendor(self, snapshot: Snapshot) -> ScopeRef:
        """The scope with its vendor's date as the target when it has none of its own.

        A release's date (the earliest when sources disagree), an epic's due date; a filter has
        none. (What the vendor calls the scope is ``bot.tracked_scopes.vendor_name``.)
        """
        if self.target is not None:
            return self
        if self.kind == "epic":
            epic = next((i for i in snapshot.items if i.key == self.key), None)
            return replace(self, target=epic.due_on) if epic is not None else self
        dates = sorted(p.due_on for p in _plans(snapshot, self) if p.due_on is not None)
        return replace(self, target=dates[0]) if dates else self


def _plans(snapshot: Snapshot, ref: ScopeRef) -> list[Plan]:
    """The releases or filters of ``snapshot`` that ``ref`` names."""
    return [p for p in snapshot.plans if p.kind == ref.kind and p.key == ref.key]
