"""Small hand-made snapshots for the detector tests: a builder and a healthy team."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from types import ModuleType

from insights.agreements import Agreements
from insights.detectors import DetectionContext
from insights.findings import Finding, Severity
from insights.model import (
    FlagChange,
    ItemKind,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # a Wednesday
TEAM = "payments"
WORKFLOW = {
    "Backlog": Stage.BACKLOG,
    "Selected": Stage.WAITING,
    "In Progress": Stage.ACTIVE,
    "Code Review": Stage.ACTIVE,
    "Ready for QA": Stage.WAITING,
    "QA": Stage.ACTIVE,
    "Blocked": Stage.BLOCKED,
    "Done": Stage.DONE,
    "Won't Do": Stage.CANCELLED,
}
Move = tuple[str, datetime]


def ago(days: float = 0, hours: float = 0) -> datetime:
    """The instant ``days`` and ``hours`` before :data:`NOW`."""
    return NOW - timedelta(days=days, hours=hours)


class SnapshotBuilder:
    """Collects issues and pull requests, then builds a :class:`Snapshot`."""

    def __init__(self, workflow: dict[str, Stage] | None = None) -> None:
        self.workflow = dict(WORKFLOW if workflow is None else workflow)
        self.items: list[WorkItem] = []
        self.transitions: dict[str, list[Transition]] = {}
        self.flags: dict[str, list[FlagChange]] = {}
        self.reviews: dict[str, list[ReviewEvent]] = {}

    def stage(self, status: str) -> Stage:
        return self.workflow.get(status, Stage.ACTIVE)

    def issue(
        self,
        key: str,
        *moves: Move,
        created: datetime | None = None,
        flags: Iterable[tuple[datetime, bool]] = (),
        blocked_by: Sequence[str] = (),
        updated: datetime | None = None,
        type: str = "Story",
        resolved: datetime | None = None,
        first_status: str = "Backlog",
    ) -> WorkItem:
        """An issue created in ``first_status`` that then makes ``moves`` (status, instant)."""
        item_id = f"test:issue:{key}"
        created = created or (moves[0][1] - timedelta(hours=1) if moves else ago(1))
        transitions, previous = [], first_status
        for status, at in sorted(moves, key=lambda m: m[1]):
            transitions.append(
                Transition(item_id, at, previous, status, self.stage(previous), self.stage(status))
            )
            previous = status
        flag_changes = [FlagChange(item_id, at, flagged) for at, flagged in flags]
        stage = self.stage(previous)
        times = [created, *(t.at for t in transitions), *(f.at for f in flag_changes)]
        item = WorkItem(
            id=item_id,
            team=TEAM,
            source="test",
            key=key,
            kind=ItemKind.ISSUE,
            type=type,
            title=f"Work on {key}",
            status=previous,
            stage=stage,
            created_at=created,
            updated_at=updated or max(times),
            resolved_at=resolved or (transitions[-1].at if stage.finished else None),
            assignee="ana",
            url=f"https://tracker.invalid/browse/{key}",
            blocked_by=tuple(blocked_by),
        )
        self.items.append(item)
        self.transitions[item_id] = transitions
        self.flags[item_id] = flag_changes
        return item

    def finished(self, key: str, started: datetime, cycle_days: float) -> WorkItem:
        """An issue that went In Progress at ``started`` and Done ``cycle_days`` later."""
        return self.issue(
            key, ("In Progress", started), ("Done", started + timedelta(days=cycle_days))
        )

    def pr(
        self,
        number: int,
        created: datetime,
        *reviews: tuple[datetime, ReviewState, str | None],
        author: str = "ana",
        merged: datetime | None = None,
        closed: datetime | None = None,
        draft: bool = False,
        additions: int | None = 10,
        deletions: int | None = 5,
    ) -> WorkItem:
        """A pull request ``acme/api#number`` with its review events (at, state, reviewer)."""
        key = f"acme/api#{number}"
        item_id = f"test:pr:{key}"
        end = merged or closed
        stage = Stage.DONE if merged else Stage.CANCELLED if closed else Stage.ACTIVE
        status = "merged" if merged else "closed" if closed else "open"
        events = [ReviewEvent(item_id, at, state, who) for at, state, who in reviews]
        item = WorkItem(
            id=item_id,
            team=TEAM,
            source="test",
            key=key,
            kind=ItemKind.PULL_REQUEST,
            type="pull_request",
            title=f"Change {number}",
            status=status,
            stage=stage,
            created_at=created,
            updated_at=max([created, *(e.at for e in events), *([end] if end else [])]),
            resolved_at=end,
            author=author,
            draft=draft,
            merged_at=merged,
            additions=additions,
            deletions=deletions,
            url=f"https://git.invalid/acme/api/pull/{number}",
            linked_keys=(),
        )
        self.items.append(item)
        self.reviews[item_id] = sorted(events, key=lambda e: e.at)
        if end is not None:
            self.transitions[item_id] = [
                Transition(item_id, end, "open", status, Stage.ACTIVE, stage)
            ]
        return item

    def build(self, statuses: Sequence[str] | None = None) -> Snapshot:
        """The snapshot; ``statuses`` defaults to the workflow's order."""
        return Snapshot(
            team=TEAM,
            items=list(self.items),
            transitions={k: tuple(v) for k, v in self.transitions.items()},
            flags={k: tuple(v) for k, v in self.flags.items()},
            reviews={k: tuple(v) for k, v in self.reviews.items()},
            statuses=tuple(self.workflow) if statuses is None else tuple(statuses),
        )


def context(
    snapshot: Snapshot,
    agreements: Agreements | None = None,
    now: datetime = NOW,
    tz: tzinfo = UTC,
) -> DetectionContext:
    """A detection context as of ``now``."""
    return DetectionContext(snapshot, agreements or Agreements(), now, tz)


def detect(
    detector: ModuleType,
    snapshot: Snapshot,
    agreements: Agreements | None = None,
    now: datetime = NOW,
    tz: tzinfo = UTC,
) -> list[Finding]:
    """Run one detector module on ``snapshot``."""
    findings: list[Finding] = detector.detect(context(snapshot, agreements, now, tz))
    assert all(f.detector == detector.NAME for f in findings)
    return findings


def by_subject(findings: Iterable[Finding]) -> dict[str, Finding]:
    """Findings keyed by subject (each subject must appear once)."""
    result: dict[str, Finding] = {}
    for finding in findings:
        assert finding.subject not in result, f"two findings on {finding.subject}"
        result[finding.subject] = finding
    return result


def history(builder: SnapshotBuilder, cycle_days: Sequence[float], prefix: str = "H") -> None:
    """Finished items with the given cycle times (calendar days), done 1 to 30 days ago."""
    for n, cycle in enumerate(cycle_days, 1):
        done = ago(days=1 + (n * 29) // len(cycle_days), hours=3)
        builder.finished(f"{prefix}-{n}", done - timedelta(days=cycle), cycle)


def flow_history(builder: SnapshotBuilder, weeks: int = 20, prefix: str = "F") -> None:
    """A steady team: 3 or 4 items a week through the whole board, each in about 3 days.

    Every item waits half a day in Selected, works 1-2 days in progress, half a day in review,
    a few hours in Ready for QA and QA, and is done; items finish on weekdays through ``weeks``.
    """
    n = 0
    for week in range(weeks, 0, -1):
        for slot in range(3 + week % 2):
            n += 1
            done = ago(days=7 * week - 1 - 2 * slot, hours=2)
            steps = [  # days before done: status entered
                ("Selected", 3.2 + 0.1 * (n % 3)),
                ("In Progress", 2.7 + 0.1 * (n % 3)),
                ("Code Review", 1.2),
                ("Ready for QA", 0.7),
                ("QA", 0.4),
                ("Done", 0.0),
            ]
            moves = [(status, done - timedelta(days=before)) for status, before in steps]
            builder.issue(f"{prefix}-{n}", *moves)


def healthy_team() -> SnapshotBuilder:
    """A team in good shape: steady history, young work in progress, prompt reviews."""
    builder = SnapshotBuilder()
    flow_history(builder)
    builder.issue("OK-1", ("Selected", ago(hours=30)), ("In Progress", ago(hours=20)))
    builder.issue(
        "OK-2",
        ("Selected", ago(days=2)),
        ("In Progress", ago(days=1, hours=20)),
        ("Code Review", ago(hours=6)),
    )
    builder.issue("OK-3", ("Selected", ago(hours=3)))
    builder.issue("OK-4")  # in the backlog
    builder.pr(1, ago(hours=5), (ago(hours=5), ReviewState.REQUESTED, "ben"))
    builder.pr(
        2,
        ago(days=3),
        (ago(days=3), ReviewState.REQUESTED, "ben"),
        (ago(days=2, hours=20), ReviewState.APPROVED, "ben"),
        merged=ago(days=2, hours=18),
    )
    builder.pr(
        3,
        ago(hours=20),
        (ago(hours=18), ReviewState.COMMENTED, "chen"),
        (ago(hours=2), ReviewState.APPROVED, "chen"),
    )
    return builder


def severities(findings: Iterable[Finding]) -> set[Severity]:
    """The severities that occur in ``findings``."""
    return {f.severity for f in findings}
