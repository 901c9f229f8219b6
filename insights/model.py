"""The normalized vocabulary every layer speaks: work items, their events, and delivery records.

Integrations map vendor JSON into these records, storage persists them, the metrics and detectors
read them. Everything here is immutable, stdlib-only, and every datetime is timezone-aware UTC.
Identifiers are source-qualified and stable (``jira:issue:PAY-12``, ``github:pr:acme/api#123``),
so reading the same record twice is harmless: storage upserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal


class Stage(StrEnum):
    """Flow state of a work item (METRICS.md section 1.1); each vendor status maps to one."""

    BACKLOG = "backlog"
    WAITING = "waiting"
    ACTIVE = "active"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def in_progress(self) -> bool:
        """True for the states between start and finish (active, waiting, blocked)."""
        return self in (Stage.WAITING, Stage.ACTIVE, Stage.BLOCKED)

    @property
    def finished(self) -> bool:
        """True for the terminal states (done, cancelled)."""
        return self in (Stage.DONE, Stage.CANCELLED)


class ItemKind(StrEnum):
    """What a work item is: an issue from a tracker or a pull/merge request."""

    ISSUE = "issue"
    PULL_REQUEST = "pr"


class FlowType(StrEnum):
    """The four flow item types of the Flow Framework (METRICS.md section 1.1)."""

    FEATURE = "feature"
    DEFECT = "defect"
    RISK = "risk"
    DEBT = "debt"


class ReviewState(StrEnum):
    """What happened on a pull request's review timeline."""

    REQUESTED = "requested"
    COMMENTED = "commented"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    READY_FOR_REVIEW = "ready_for_review"


class Outcome(StrEnum):
    """Result of a deployment or pipeline run."""

    SUCCESS = "success"
    FAILURE = "failure"
    RUNNING = "running"
    CANCELLED = "cancelled"


def make_id(source: str, kind: str, native: str) -> str:
    """Build a source-qualified stable id, e.g. ``make_id("jira", "issue", "PAY-12")``."""
    return f"{source}:{kind}:{native}"


def require_utc(value: datetime | None, owner: str, name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is None or an aware datetime in UTC.

    ``owner`` and ``name`` only serve the error message (``PAY-12.created_at``).
    """
    if value is None or value.tzinfo is UTC:  # the fast path: loaded and parsed values
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{owner}.{name} must be timezone-aware UTC, got naive {value!r}")
    if value.utcoffset() != UTC.utcoffset(value):
        raise ValueError(f"{owner}.{name} must be in UTC, got offset {value.utcoffset()}")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An issue or pull request as it stands now; its history lives in the event records."""

    id: str
    team: str
    source: str
    key: str
    kind: ItemKind
    type: str
    title: str
    status: str
    stage: Stage
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    assignee: str | None = None
    url: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    parent_key: str | None = None
    story_points: float | None = None
    blocked_by: tuple[str, ...] = ()
    # Pull-request fields (None for issues).
    author: str | None = None
    draft: bool = False
    merged_at: datetime | None = None
    first_commit_at: datetime | None = None
    head_branch: str | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    merge_sha: str | None = None
    linked_keys: tuple[str, ...] = ()
    removed_at: datetime | None = None
    """When a reconciliation found the item gone at its vendor (deleted, or moved out of the
    team's scope). A removed item is out of every metric; the export keeps it."""
    releases: tuple[str, ...] = ()
    """The releases the item is planned for: its Jira fix versions, or the GitHub or GitLab
    milestone of a pull request (:class:`Plan` has each one's date)."""
    due_on: date | None = None
    """The item's due date (Jira ``duedate``), a calendar day."""

    def __post_init__(self) -> None:
        for name in (
            "created_at",
            "updated_at",
            "resolved_at",
            "merged_at",
            "first_commit_at",
            "removed_at",
        ):
            require_utc(getattr(self, name), self.id, name)


@dataclass(slots=True)
class Transition:
    """A status change of a work item at an instant.

    Treat events as immutable. Unlike the other records they are not ``frozen``: a team's snapshot
    holds millions of them and a frozen dataclass costs three times as much to construct.
    """

    item_id: str
    at: datetime
    from_status: str | None
    to_status: str
    from_stage: Stage | None
    to_stage: Stage

    def __post_init__(self) -> None:
        require_utc(self.at, self.item_id, "at")


@dataclass(slots=True)
class FlagChange:
    """The Jira "Flagged" impediment set (``flagged=True``) or cleared on an item."""

    item_id: str
    at: datetime
    flagged: bool
    inferred: bool = False
    """True when the vendor's record of this change was unreadable: ``at`` is then the earliest
    evidence of the change (it happened at or before ``at``), never an invented instant."""

    def __post_init__(self) -> None:
        require_utc(self.at, self.item_id, "at")


@dataclass(slots=True)
class ReviewEvent:
    """A review request or submitted review on a pull request."""

    item_id: str
    at: datetime
    state: ReviewState
    reviewer: str | None

    def __post_init__(self) -> None:
        require_utc(self.at, self.item_id, "at")


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment to an environment, with the pull requests it shipped."""

    id: str
    team: str
    source: str
    environment: str
    outcome: Outcome
    finished_at: datetime
    started_at: datetime | None = None
    sha: str | None = None
    repo: str | None = None
    shipped_item_ids: tuple[str, ...] = ()
    url: str | None = None
    production: bool = False
    """Whether ``environment`` is a production one: decided by the source from its configuration
    (``production_environments``, GitLab's environment tier, ``deploy_workflows``), never from
    the name alone, so ``prod`` or ``live`` count when the team says they do."""

    def __post_init__(self) -> None:
        require_utc(self.finished_at, self.id, "finished_at")
        require_utc(self.started_at, self.id, "started_at")

    @property
    def is_production_success(self) -> bool:
        """True when this is a successful deployment to production."""
        return self.outcome is Outcome.SUCCESS and self.production


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """A CI pipeline (workflow) run."""

    id: str
    team: str
    source: str
    name: str
    branch: str | None
    outcome: Outcome
    started_at: datetime
    finished_at: datetime | None = None
    url: str | None = None
    created_at: datetime | None = None
    """When the run was queued (a re-run attempt is created before it starts); None if unknown."""
    sha: str | None = None
    """The commit the run built (GitHub's ``head_sha``, GitLab's ``sha``); None if unknown."""

    def __post_init__(self) -> None:
        require_utc(self.started_at, self.id, "started_at")
        require_utc(self.finished_at, self.id, "finished_at")
        require_utc(self.created_at, self.id, "created_at")


@dataclass(frozen=True, slots=True)
class Incident:
    """A production incident; ``deployment_id`` is the deployment it is attributed to."""

    id: str
    team: str
    source: str
    title: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    urgency: str | None = None
    url: str | None = None
    deployment_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("created_at", "acknowledged_at", "resolved_at"):
            require_utc(getattr(self, name), self.id, name)


PlanKind = Literal["release", "filter"]


@dataclass(frozen=True, slots=True)
class Plan:
    """A release or a saved filter as its vendor has it: what a scope of that kind reads.

    A **release** is a Jira fix version or a GitHub/GitLab milestone: ``key`` is its name (what
    :attr:`WorkItem.releases` holds), ``due_on`` its release or due date. A **filter** is a saved
    Jira filter: ``key`` is its id and ``item_keys`` the keys of the issues its JQL matched when
    the source last ran it (the source reads the whole membership each sync).
    """

    team: str
    source: str
    kind: PlanKind
    key: str
    name: str
    due_on: date | None = None
    done: bool = False
    """Released (a fix version) or closed (a milestone)."""
    item_keys: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PlanSet:
    """The plans of one kind a source holds for a team (its releases, or its saved filters)."""

    team: str
    source: str
    kind: PlanKind


Record = WorkItem | Transition | FlagChange | ReviewEvent | Deployment | PipelineRun | Incident


@dataclass(frozen=True, slots=True)
class ItemHistory:
    """A work item with its full history: what a source delivers for one changed item.

    Storage replaces an item's events with these on every write, so a re-read history (or one
    whose vendor changelog was edited) always ends up exactly as the vendor has it now; on a page
    marked ``merge_histories`` it adds them to the stored events instead. The item is stored as
    its team's copy: another team reading the same vendor record keeps its own.
    """

    item: WorkItem
    transitions: tuple[Transition, ...] = ()
    flags: tuple[FlagChange, ...] = ()
    reviews: tuple[ReviewEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveItems:
    """Every live item of one source's scope at the vendor, from a reconciliation.

    Stored items of ``team`` from ``source`` whose id starts with one of ``id_prefixes`` and is
    not in ``ids`` are marked removed; an item that comes back (or is re-read) is live again.
    """

    team: str
    source: str
    id_prefixes: tuple[str, ...]
    ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Page:
    """One page pulled from a source, and the cursor that is safe to resume from once stored."""

    histories: Sequence[ItemHistory] = ()
    deployments: Sequence[Deployment] = ()
    pipeline_runs: Sequence[PipelineRun] = ()
    incidents: Sequence[Incident] = ()
    cursor: str | None = None
    skipped: int = 0
    unmapped_statuses: frozenset[str] = field(default_factory=frozenset)
    live_items: LiveItems | None = None
    """Set on a reconciliation page: what is still live, so storage can mark the rest removed."""
    plans: Sequence[Plan] = ()
    """Releases and saved filters read with this page: each replaces the stored one of its key."""
    plan_sets: Sequence[PlanSet] = ()
    """The page's plans of each of these sets are all the set holds now: storage removes the set's
    other stored plans (a set read in full this sync; one with no plans in the page empties)."""
    merge_histories: bool = False
    """Set when the page's events are not an item's whole history (a CSV re-import): storage merges
    them into what it holds instead of replacing the item's events."""

    @property
    def record_count(self) -> int:
        """Number of top-level records in the page (items, deployments, runs, incidents)."""
        return (
            len(self.histories)
            + len(self.deployments)
            + len(self.pipeline_runs)
            + len(self.incidents)
            + len(self.plans)
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything known about one team at a point in time: the input of every metric.

    Events are grouped by item id and sorted by time.
    """

    team: str
    items: Sequence[WorkItem]
    transitions: dict[str, Sequence[Transition]]
    flags: dict[str, Sequence[FlagChange]]
    reviews: dict[str, Sequence[ReviewEvent]]
    deployments: Sequence[Deployment] = ()
    pipeline_runs: Sequence[PipelineRun] = ()
    incidents: Sequence[Incident] = ()
    statuses: Sequence[str] = ()
    """The team's workflow statuses in board order (for per-status WIP and cumulative flow)."""
    plans: Sequence[Plan] = ()
    """The releases and saved filters the team's sources read (scopes of those kinds)."""

    def issues(self) -> list[WorkItem]:
        """The work items that are issues (not pull requests)."""
        return [i for i in self.items if i.kind is ItemKind.ISSUE]

    def pull_requests(self) -> list[WorkItem]:
        """The work items that are pull requests."""
        return [i for i in self.items if i.kind is ItemKind.PULL_REQUEST]
