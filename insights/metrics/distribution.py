"""Flow distribution: shares of each flow type, finished and in progress (METRICS.md 1.7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from insights.item_timeline import (
    ItemTimeline,
)
from insights.metrics.flow_items import FlowTypes
from insights.model import FlowType
from insights.timeline_index import as_timelines


@dataclass(frozen=True)
class FlowDistribution:
    """Share of each flow type among finished items and among items in progress (METRICS.md 1.7)."""

    completed: dict[FlowType, float | None]
    completed_keys: dict[FlowType, tuple[str, ...]]
    in_progress: dict[FlowType, float | None]
    in_progress_keys: dict[FlowType, tuple[str, ...]]
    unclassified_keys: tuple[str, ...]
    """Items of no flow type (supporting artifacts) finished in the window or in progress."""


def flow_distribution(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> FlowDistribution:
    """Flow types of items finished in ``[start, end)``, and of the WIP at ``end``.

    Types come from the items' current metadata (the model keeps no metadata history).
    """
    indexed = as_timelines(timelines)
    type_of = FlowTypes(t.item for t in indexed)
    done: dict[FlowType, list[str]] = {f: [] for f in FlowType}
    wip: dict[FlowType, list[str]] = {f: [] for f in FlowType}
    other = []
    for bucket, group in (
        (done, indexed.finished_between(start, end)),
        (wip, indexed.live_between(end, end)),
    ):
        for t in group:
            kind = type_of(t.item)
            if kind is None:
                other.append(t.item.key)
            else:
                bucket[kind].append(t.item.key)
    return FlowDistribution(
        completed=_shares(done),
        completed_keys={f: tuple(k) for f, k in done.items()},
        in_progress=_shares(wip),
        in_progress_keys={f: tuple(k) for f, k in wip.items()},
        unclassified_keys=tuple(other),
    )


def _shares(groups: dict[FlowType, list[str]]) -> dict[FlowType, float | None]:
    total = sum(len(keys) for keys in groups.values())
    return {f: (len(keys) / total if total else None) for f, keys in groups.items()}
