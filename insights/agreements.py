"""A team's working agreements: the thresholds the detectors and the digest use.

A plain dataclass so the pure core owns it; app.yaml's ``agreements:`` section is validated into
it by pydantic (``__pydantic_config__`` forbids unknown keys, ``__post_init__`` checks ranges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

TraceabilityCheck = Literal["untracked_merge", "unverified_deployment", "done_unmerged"]
"""The traceability detectors a team can switch on (each off unless ``traceability`` names it)."""
TRACEABILITY_CHECKS: tuple[str, ...] = get_args(TraceabilityCheck)


@dataclass(frozen=True)
class Agreements:
    """Thresholds with defaults; every field can be set per team in app.yaml."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    wip_limit: int | None = None
    """Most items in progress (waiting, active or blocked) the team wants at once."""
    wip_limits: dict[str, int] = field(default_factory=dict)
    """Per-status WIP limits, by the status name of the workflow."""
    review_within_hours: float = 24
    """A pull request should get its first review within this many hours."""
    review_running_hours: float = 72
    """A review that has run longer than this (first review to merge) is reported."""
    approved_unmerged_hours: float = 24
    """An approved pull request still unmerged after this many hours is reported."""
    blocked_alert_after_hours: float = 48
    """An item blocked longer than this is reported."""
    stale_after_days: float = 5
    """An in-progress item with no change for this many days is stale."""
    aging_percentile: int = 85
    """An in-progress item older than this percentile of cycle time is aging (warn)."""
    large_pr_lines: int = 400
    """A pull request changing more lines than this is large."""
    sle_days: float | None = None
    """A fixed service level expectation in days (default: the team's p85 cycle time)."""
    history_days: int = 90
    """Look-back window of finished items for percentiles and the SLE."""
    scope_confidence: float = 0.70
    """A tracked scope with a target date is at risk when its chance to be done by then is below
    this (``scope_at_risk``)."""
    scope_slip_days: int = 7
    """A card when the 85 % date of a tracked scope slips by more than this many days since its
    last card, and past its target date (``scope_at_risk``)."""
    traceability: tuple[TraceabilityCheck, ...] = ()
    """The traceability gaps the team wants reported, each off unless listed here (app.yaml:
    ``traceability: [untracked_merge, unverified_deployment, done_unmerged]``):
    ``untracked_merge``, a pull request merged with no linked work item of the team;
    ``unverified_deployment``, a production deployment of a commit no successful pipeline run
    built before it; ``done_unmerged``, an item done whose linked pull requests never merged."""

    def __post_init__(self) -> None:
        positive = (
            "review_within_hours",
            "review_running_hours",
            "approved_unmerged_hours",
            "blocked_alert_after_hours",
            "stale_after_days",
            "large_pr_lines",
            "history_days",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0, got {getattr(self, name)}")
        if self.wip_limit is not None and self.wip_limit < 1:
            raise ValueError(f"wip_limit must be at least 1, got {self.wip_limit}")
        for status, limit in self.wip_limits.items():
            if limit < 1:
                raise ValueError(f"wip_limits[{status!r}] must be at least 1, got {limit}")
        if not 50 <= self.aging_percentile <= 99:
            raise ValueError(
                f"aging_percentile must be between 50 and 99, got {self.aging_percentile}"
            )
        if self.sle_days is not None and self.sle_days <= 0:
            raise ValueError(f"sle_days must be greater than 0, got {self.sle_days}")
        if not 0 < self.scope_confidence < 1:
            raise ValueError(
                f"scope_confidence must be between 0 and 1, got {self.scope_confidence}"
            )
        if self.scope_slip_days < 1:
            raise ValueError(
                f"scope_slip_days must be at least 1 (days), got {self.scope_slip_days}"
            )
        for check in self.traceability:
            if check not in TRACEABILITY_CHECKS:
                raise ValueError(
                    f"traceability: {check!r} is no traceability check; expected some of "
                    + ", ".join(TRACEABILITY_CHECKS)
                )
