"""Which items flow, of which flow type, and the timeline index every metric reads.

METRICS.md 1.1: flow items are the snapshot's issues except epics and sub-tasks (never count a
parent and its children; the default level is stories, bugs and tasks), each of one Flow Framework
type (feature, defect, risk, debt). :func:`item_timelines` builds their shared
:class:`~insights.timeline_index.Timelines` once per snapshot; pass it to every metric.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

from insights.item_timeline import (
    Reentry,
    timeline_of,
)
from insights.model import FlowType, ItemKind, Snapshot, WorkItem
from insights.timeline_index import Timelines, collect_timelines

EXCLUDED_TYPES = frozenset({"epic", "sub-task", "subtask"})
"""Issue types that are not flow items by default (parents and children of the item level)."""
_DEFECT_TYPES = frozenset({"bug", "defect", "incident", "problem"})
_RISK_TYPES = frozenset({"vulnerability", "security", "compliance"})
_RISK_LABELS = frozenset({"security", "compliance", "risk"})
_DEBT_NAMES = frozenset({"tech-debt", "debt", "refactor", "chore", "maintenance"})
_FEATURE_TYPES = frozenset({"story", "feature", "epic", "requirement", "improvement", "task"})
_SUBTASK_TYPES = frozenset({"sub-task", "subtask"})
_ISSUE = ItemKind.ISSUE


def flow_items(
    snapshot: Snapshot, exclude_types: Collection[str] = EXCLUDED_TYPES
) -> list[WorkItem]:
    """The snapshot's issues that are flow items (types in ``exclude_types`` left out)."""
    return [item for _, item in _flow_items(snapshot, exclude_types)]


def _flow_items(
    snapshot: Snapshot, exclude_types: Collection[str]
) -> Iterator[tuple[int, WorkItem]]:
    """The flow items with their positions among the snapshot's items."""
    excluded = {t.lower() for t in exclude_types}
    flows: dict[str, bool] = {}  # by issue type: a snapshot has few, and many items
    for position, item in enumerate(snapshot.items):
        if item.kind is _ISSUE:
            kind = item.type
            flowing = flows.get(kind)
            if flowing is None:
                flowing = flows[kind] = kind.lower() not in excluded
            if flowing:
                yield position, item


def item_timelines(
    snapshot: Snapshot,
    reentry: Reentry = "first",
    exclude_types: Collection[str] = EXCLUDED_TYPES,
) -> Timelines:
    """The timeline of every flow item of ``snapshot`` (issues; no epics, no sub-tasks).

    Pass the result to every metric: its columns are shared. The timelines of the last
    ``TIMELINES_KEPT`` snapshots asked for are kept (a snapshot is immutable), so the reports,
    digests and charts of a snapshot the bot keeps build them once.
    """
    key = (id(snapshot), reentry, frozenset(t.lower() for t in exclude_types))
    kept = _timelines_kept.get(key)
    if kept is not None and kept[0] is snapshot:
        return kept[1]
    transitions, flags, none = snapshot.transitions, snapshot.flags, ()
    timelines = collect_timelines(
        (
            position,
            timeline_of(item, transitions.get(item.id, none), flags.get(item.id, none), reentry),
        )
        for position, item in _flow_items(snapshot, exclude_types)
    )
    _keep(key, snapshot, timelines)
    return timelines


TIMELINES_KEPT = 2
"""How many snapshots' timelines :func:`item_timelines` keeps (each keeps its snapshot alive)."""
_TimelinesKey = tuple[int, str, frozenset[str]]
_timelines_kept: dict[_TimelinesKey, tuple[Snapshot, Timelines]] = {}


def _keep(key: _TimelinesKey, snapshot: Snapshot, timelines: Timelines) -> None:
    """Remember ``timelines``, forgetting the oldest (replaced whole: safe across threads)."""
    global _timelines_kept
    entries = list(_timelines_kept.items())[-(TIMELINES_KEPT - 1) :] if TIMELINES_KEPT > 1 else []
    _timelines_kept = {**dict(entries), key: (snapshot, timelines)}


def flow_type(item: WorkItem, parent: WorkItem | None = None) -> FlowType | None:
    """The Flow Framework type of ``item`` (METRICS.md 1.1), or None for a supporting artifact.

    In order: a Bug/Defect/Incident/Problem type is a defect; a Vulnerability/Security/Compliance
    type or a ``security``/``compliance``/``risk`` label is a risk; a ``tech-debt``/``debt``/
    ``refactor``/``chore``/``maintenance`` label or type is debt; a Story/Feature/Epic/Requirement/
    Improvement/Task type is a feature (Task is our addition: METRICS.md leaves it out although
    tasks are flow items); a sub-task takes its ``parent``'s type.
    """
    kind = item.type.lower()
    labels = {label.lower() for label in item.labels}
    if kind in _DEFECT_TYPES:
        return FlowType.DEFECT
    if kind in _RISK_TYPES or labels & _RISK_LABELS:
        return FlowType.RISK
    if kind in _DEBT_NAMES or labels & _DEBT_NAMES:
        return FlowType.DEBT
    if kind in _FEATURE_TYPES:
        return FlowType.FEATURE
    if kind in _SUBTASK_TYPES and parent is not None and parent.type.lower() not in _SUBTASK_TYPES:
        return flow_type(parent)
    return None


class FlowTypes:
    """The flow type of items, sub-tasks resolved through their parent among ``items``.

    Types are computed on first use and memoised by (type, labels), so asking for every item of a
    large snapshot stays cheap.
    """

    def __init__(self, items: Iterable[WorkItem]) -> None:
        self._items = items
        self._by_key: dict[str, WorkItem] | None = None
        self._memo: dict[tuple[str, tuple[str, ...]], FlowType | None] = {}

    def __call__(self, item: WorkItem) -> FlowType | None:
        """The flow type of ``item``."""
        if item.parent_key and item.type.lower() in _SUBTASK_TYPES:
            if self._by_key is None:
                self._by_key = {i.key: i for i in self._items}
            return flow_type(item, self._by_key.get(item.parent_key))
        signature = (item.type, item.labels)
        if signature not in self._memo:
            self._memo[signature] = flow_type(item)
        return self._memo[signature]


def flow_types(items: Iterable[WorkItem]) -> dict[str, FlowType | None]:
    """The flow type of each item by id, sub-tasks resolved through their parent among ``items``."""
    pool = list(items)
    type_of = FlowTypes(pool)
    return {item.id: type_of(item) for item in pool}
