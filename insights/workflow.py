"""Map a vendor's status names onto flow stages (METRICS.md section 1.1, DECISION mapping defaults).

A team's workflow is an ordered mapping ``status -> Stage`` from app.yaml. A status it does not
name falls back on the vendor's status category (Jira ``new``/``indeterminate``/``done``) and on
the name patterns of METRICS.md; such statuses are remembered as *unmapped* so the bot can report
them (``/vsm status``).

A status with neither a mapping, a category nor a telling name never starts work: METRICS.md 1.2
starts the clock on the first entry into waiting *or* active, so such a status is backlog for an
item not yet committed to, and waiting (started, nobody known to be working) for one that was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from insights.model import Stage

WAITING_PATTERN = re.compile(r"blocked|waiting|on hold|ready for|review requested|awaiting", re.I)
CANCELLED_RESOLUTIONS = frozenset(
    r.lower()
    for r in (
        "Won't Do",
        "Won't Fix",
        "Duplicate",
        "Cannot Reproduce",
        "Withdrawn",
        "Invalid",
        "Declined",
    )
)
_CATEGORY_STAGE = {
    "new": Stage.BACKLOG,
    "to do": Stage.BACKLOG,
    "indeterminate": Stage.ACTIVE,
    "in progress": Stage.ACTIVE,
    "done": Stage.DONE,
}


@dataclass
class Workflow:
    """A team's status-to-stage mapping, in board order, remembering what it had to guess."""

    statuses: Mapping[str, Stage] = field(default_factory=dict)
    unmapped: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._by_lower = {name.lower(): stage for name, stage in self.statuses.items()}

    @property
    def order(self) -> list[str]:
        """The configured statuses in board order."""
        return list(self.statuses)

    def maps(self, status: str) -> bool:
        """True when the team's workflow names ``status`` (case-insensitively)."""
        return status.lower() in self._by_lower

    def stage_for(
        self,
        status: str,
        category: str | None = None,
        resolution: str | None = None,
        committed: bool = False,
    ) -> Stage:
        """Return the stage of ``status``; record it as unmapped when the mapping lacks it.

        ``committed`` says whether the item was past the backlog before entering ``status``; it
        only decides the stage of a status nothing else tells (:func:`default_stage`).
        """
        mapped = self._by_lower.get(status.lower())
        if mapped is not None:
            if mapped is Stage.DONE and _is_cancelling(resolution):
                return Stage.CANCELLED
            return mapped
        self.unmapped.add(status)
        return default_stage(status, category, resolution, committed)


def _is_cancelling(resolution: str | None) -> bool:
    return resolution is not None and resolution.lower() in CANCELLED_RESOLUTIONS


def is_committed(stage: Stage | None) -> bool:
    """Whether an item in ``stage`` was committed to: started (in progress) or done since."""
    return stage is not None and (stage.in_progress or stage is Stage.DONE)


def default_stage(
    status: str,
    category: str | None = None,
    resolution: str | None = None,
    committed: bool = False,
) -> Stage:
    """The METRICS.md default mapping from a status name, its category and resolution.

    A status none of them places is backlog before the item's commitment point and waiting
    after it (``committed``): an unknown status never starts the cycle-time clock.
    """
    stage = _CATEGORY_STAGE.get((category or "").lower())
    if stage is Stage.DONE:
        return Stage.CANCELLED if _is_cancelling(resolution) else Stage.DONE
    if WAITING_PATTERN.search(status):
        return Stage.BLOCKED if "blocked" in status.lower() else Stage.WAITING
    if stage is not None:
        return stage
    lowered = status.lower()
    if lowered in {"done", "closed", "resolved", "merged", "released"}:
        return Stage.DONE
    if lowered in {"cancelled", "canceled", "rejected", "won't do"}:
        return Stage.CANCELLED
    if lowered in {"backlog", "to do", "todo", "open", "new"}:
        return Stage.BACKLOG
    return Stage.WAITING if committed else Stage.BACKLOG
