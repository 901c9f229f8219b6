"""Per-item timestamps derived from an item's history (METRICS.md sections 1.2 and 3.1).

``started_at`` is the first instant the item entered an in-progress stage (waiting, active or
blocked; the creation instant when it was created in progress); ``finished_at`` is the last entry
into done, defined only while the item is done (a reopened item has none and is in progress again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from insights.model import FlagChange, Stage, Transition, WorkItem


@dataclass(frozen=True, slots=True)
class ItemTimeline:
    """A work item with the instants the metrics need."""

    item: WorkItem
    started_at: datetime | None
    finished_at: datetime | None
    status_since: datetime
    """When the item entered its current status."""
    flagged_since: datetime | None
    """When the impediment flag currently set was set (None if not flagged now)."""

    @property
    def stage(self) -> Stage:
        return self.item.stage

    @property
    def in_progress(self) -> bool:
        """Started and not finished or cancelled."""
        return self.started_at is not None and self.item.stage.in_progress

    @property
    def blocked_since(self) -> datetime | None:
        """When the current block began: the flag, or entering a blocked stage."""
        stage_block = self.status_since if self.item.stage is Stage.BLOCKED else None
        candidates = [t for t in (self.flagged_since, stage_block) if t is not None]
        return min(candidates) if candidates else None

    def cycle_time_seconds(self) -> float | None:
        """Finish minus start in seconds; None when unfinished or negative (METRICS.md 0.5)."""
        if self.started_at is None or self.finished_at is None:
            return None
        seconds = (self.finished_at - self.started_at).total_seconds()
        return seconds if seconds >= 0 else None

    def age_seconds(self, now: datetime) -> float | None:
        """Elapsed time since start for an item in progress."""
        if not self.in_progress or self.started_at is None:
            return None
        return max(0.0, (now - self.started_at).total_seconds())


def build_timeline(
    item: WorkItem, transitions: Sequence[Transition], flags: Sequence[FlagChange] = ()
) -> ItemTimeline:
    """Derive the timeline of one item from its transitions and flag changes (time-ordered)."""
    ordered = sorted(transitions, key=lambda t: t.at)
    initial_stage = ordered[0].from_stage if ordered and ordered[0].from_stage else None
    started_at = item.created_at if initial_stage and initial_stage.in_progress else None
    if not ordered and item.stage.in_progress:
        started_at = item.created_at
    finished_at = None
    for transition in ordered:
        if started_at is None and (
            transition.to_stage.in_progress or transition.to_stage is Stage.DONE
        ):
            started_at = transition.at
        if transition.to_stage is Stage.DONE:
            finished_at = transition.at
    if item.stage is not Stage.DONE:
        finished_at = None
    elif finished_at is None:
        finished_at = item.resolved_at or item.updated_at
        started_at = started_at or item.created_at
    status_since = ordered[-1].at if ordered else item.created_at
    flagged_since = None
    for flag in sorted(flags, key=lambda f: f.at):
        if flag.flagged and flagged_since is None:
            flagged_since = flag.at
        elif not flag.flagged:
            flagged_since = None
    return ItemTimeline(item, started_at, finished_at, status_since, flagged_since)
