"""Property-based: a report as of a past instant equals the report on the data stored back then.

A random *world* says what really happened to a team's work: when each item was created, every
status it went through, its flags, a pull request's reviews and end, the deployments, incidents
and pipeline runs. :func:`stored_at` is what a sync run at an instant would have stored of that
world, written here from the world alone. The full data is a sync run after everything; the
report as of ``T`` on it must equal the report as of ``T`` on a sync run at ``T``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.agreements import Agreements
from insights.as_of import snapshot_as_of
from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemKind,
    Outcome,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)
from insights.report import build_report

TEAM = "payments"
TZ = ZoneInfo("Europe/Berlin")  # a daylight saving change inside the span
BEGIN = datetime(2026, 9, 1, tzinfo=UTC)
SPAN_HOURS = 100 * 24
AFTER_ALL = datetime(2030, 1, 1, tzinfo=UTC)
WORKFLOW = {
    "Backlog": Stage.BACKLOG,
    "Triage": Stage.BACKLOG,
    "Selected": Stage.WAITING,
    "In Progress": Stage.ACTIVE,
    "Review": Stage.ACTIVE,
    "Blocked": Stage.BLOCKED,
    "Done": Stage.DONE,
    "Won't Do": Stage.CANCELLED,
}
BOARD = ("Backlog", "Selected", "In Progress", "Review", "Blocked", "Done", "Won't Do")
"""The team's board: "Triage" is a status the workflow does not list (a data-quality finding)."""
REVIEWERS = ("ana", "bo", "cy", "renovate[bot]")

hours = st.integers(0, SPAN_HOURS)
gaps = st.integers(0, 20 * 24)


def at(hour: int) -> datetime:
    return BEGIN + timedelta(hours=hour)


@dataclass
class IssueWorld:
    """What happened to an issue: created in a status, then moved (instant, status)."""

    key: str
    type: str
    created: datetime
    first_status: str
    moves: list[tuple[datetime, str]]
    flag_toggles: list[datetime]
    """Set, cleared, set... at these instants."""
    removed: datetime | None


@dataclass
class PullWorld:
    """What happened to a pull request."""

    number: int
    created: datetime
    was_draft: bool
    ready: datetime | None
    reviews: list[tuple[datetime, ReviewState, str]]
    end: datetime | None
    merged: bool
    additions: int
    removed: datetime | None


@dataclass
class DeliveryWorld:
    """Deployments, incidents and pipeline runs as they happened."""

    deployments: list[Deployment] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    runs: list[PipelineRun] = field(default_factory=list)


@dataclass
class World:
    """Everything that happened to the team's work."""

    issues: list[IssueWorld]
    pulls: list[PullWorld]
    delivery: DeliveryWorld


def later(start: datetime, gap: int) -> datetime:
    return start + timedelta(hours=gap)


def maybe_after(
    start: datetime, gap: st.SearchStrategy[int] = gaps
) -> st.SearchStrategy[datetime | None]:
    """Never, or an instant some hours after ``start``."""
    return st.none() | gap.map(lambda hours: later(start, hours))


@st.composite
def issue_worlds(draw: st.DrawFn, n: int) -> IssueWorld:
    created = at(draw(hours))
    statuses = draw(st.lists(st.sampled_from(list(WORKFLOW)), max_size=6))
    first = draw(st.sampled_from(["Backlog", "Triage", "Selected", "In Progress", "Done"]))
    moves, previous, instant = [], first, created
    for status in statuses:
        instant = later(instant, draw(gaps))
        if status != previous:
            moves.append((instant, status))
            previous = status
    toggles, instant = [], created
    for gap in draw(st.lists(gaps, max_size=4)):
        instant = later(instant, gap)
        toggles.append(instant)
    removed = draw(maybe_after(created))
    kind = draw(st.sampled_from(["Story", "Bug", "Task", "Epic"]))
    return IssueWorld(f"PAY-{n}", kind, created, first, moves, toggles, removed)


@st.composite
def pull_worlds(draw: st.DrawFn, n: int) -> PullWorld:
    created = at(draw(hours))
    was_draft = draw(st.booleans())
    ready = draw(maybe_after(created)) if was_draft else None
    reviews = [
        (later(created, gap), state, who)
        for gap, state, who in draw(
            st.lists(
                st.tuples(gaps, st.sampled_from(list(ReviewState)[:4]), st.sampled_from(REVIEWERS)),
                max_size=4,
            )
        )
    ]
    end = draw(maybe_after(created))
    removed = draw(maybe_after(created))
    additions = draw(st.sampled_from([10, 900]))
    return PullWorld(
        n, created, was_draft, ready, reviews, end, draw(st.booleans()), additions, removed
    )


@st.composite
def delivery_worlds(draw: st.DrawFn, pull_ids: list[str]) -> DeliveryWorld:
    world = DeliveryWorld()
    for n in range(draw(st.integers(0, 6))):
        finished = at(draw(hours))
        world.deployments.append(
            Deployment(
                id=f"test:deployment:{n}",
                team=TEAM,
                source="test",
                environment=(environment := draw(st.sampled_from(["prod", "prod", "staging"]))),
                production=environment == "prod",
                outcome=draw(st.sampled_from([Outcome.SUCCESS, Outcome.FAILURE])),
                finished_at=finished,
                started_at=finished - timedelta(hours=draw(st.integers(0, 3))),
                repo="acme/api",
                shipped_item_ids=tuple(draw(st.lists(st.sampled_from(pull_ids), max_size=3)))
                if pull_ids
                else (),
            )
        )
    world.deployments.sort(key=lambda d: (d.finished_at, d.id))
    for n in range(draw(st.integers(0, 4))):
        created = at(draw(hours))
        acknowledged = draw(maybe_after(created))
        resolved = draw(maybe_after(created))
        before = [d.id for d in world.deployments if d.finished_at < created]
        world.incidents.append(
            Incident(
                id=f"test:incident:{n}",
                team=TEAM,
                source="test",
                title=f"Incident {n}",
                created_at=created,
                acknowledged_at=acknowledged,
                resolved_at=resolved,
                deployment_id=draw(st.sampled_from([None, *before])),
            )
        )
    world.incidents.sort(key=lambda i: (i.created_at, i.id))
    for n in range(draw(st.integers(0, 3))):
        created = at(draw(hours))
        started = later(created, draw(st.integers(0, 3)))
        finished = draw(maybe_after(started, st.integers(0, 5)))
        world.runs.append(
            PipelineRun(
                id=f"test:run:{n}",
                team=TEAM,
                source="test",
                name="ci",
                branch="main",
                outcome=Outcome.RUNNING if finished is None else Outcome.SUCCESS,
                started_at=started,
                finished_at=finished,
                created_at=created,
            )
        )
    return world


@st.composite
def worlds(draw: st.DrawFn) -> World:
    issues = [draw(issue_worlds(n)) for n in range(draw(st.integers(1, 12)))]
    pulls = [draw(pull_worlds(n)) for n in range(draw(st.integers(0, 5)))]
    delivery = draw(delivery_worlds([pull_id(p) for p in pulls]))
    return World(issues, pulls, delivery)


def pull_id(pull: PullWorld) -> str:
    return f"test:pr:acme/api#{pull.number}"


# --- What a sync run at an instant stores ---------------------------------------------------------


def stored_at(world: World, instant: datetime, *, removed_kept: bool = False) -> Snapshot:
    """The data a sync run at ``instant`` would have stored.

    Items removed by then are left out, as the report loads them; ``removed_kept`` keeps them
    with their ``removed_at``, as the export loads them.
    """
    items: list[WorkItem] = []
    transitions: dict[str, tuple[Transition, ...]] = {}
    flags: dict[str, tuple[FlagChange, ...]] = {}
    reviews: dict[str, tuple[ReviewEvent, ...]] = {}
    for issue in world.issues:
        if issue.created <= instant and (removed_kept or not gone(issue.removed, instant)):
            item_id = f"test:issue:{issue.key}"
            item, transitions[item_id], flags[item_id] = issue_at(issue, instant)
            items.append(removed_as_of(item, issue.removed, instant))
    for pull in world.pulls:
        if pull.created <= instant and (removed_kept or not gone(pull.removed, instant)):
            item_id = pull_id(pull)
            item, transitions[item_id], reviews[item_id] = pull_at(pull, instant)
            items.append(removed_as_of(item, pull.removed, instant))
    delivery = world.delivery
    return Snapshot(
        team=TEAM,
        items=items,
        transitions=transitions,
        flags=flags,
        reviews=reviews,
        deployments=[d for d in delivery.deployments if d.finished_at <= instant],
        incidents=[incident_at(i, instant) for i in delivery.incidents if i.created_at <= instant],
        pipeline_runs=[run_at(r, instant) for r in delivery.runs if queued(r) <= instant],
        statuses=BOARD,
    )


def gone(removed: datetime | None, instant: datetime) -> bool:
    return removed is not None and removed <= instant


def removed_as_of(item: WorkItem, removed: datetime | None, instant: datetime) -> WorkItem:
    return replace(item, removed_at=removed) if gone(removed, instant) else item


def issue_at(
    issue: IssueWorld, instant: datetime
) -> tuple[WorkItem, tuple[Transition, ...], tuple[FlagChange, ...]]:
    """The issue as its tracker showed it at ``instant``: resolved when it entered done."""
    item_id = f"test:issue:{issue.key}"
    moves, previous = [], issue.first_status
    for when, status in issue.moves:
        if when <= instant:
            moves.append(
                Transition(item_id, when, previous, status, WORKFLOW[previous], WORKFLOW[status])
            )
            previous = status
    changes = tuple(
        FlagChange(item_id, when, n % 2 == 0)
        for n, when in enumerate(issue.flag_toggles)
        if when <= instant
    )
    stage = WORKFLOW[previous]
    resolved = (moves[-1].at if moves else issue.created) if stage.finished else None
    item = WorkItem(
        id=item_id,
        team=TEAM,
        source="test",
        key=issue.key,
        kind=ItemKind.ISSUE,
        type=issue.type,
        title=f"Work on {issue.key}",
        status=previous,
        stage=stage,
        created_at=issue.created,
        updated_at=max([issue.created, *(m.at for m in moves), *(c.at for c in changes)]),
        resolved_at=resolved,
        assignee="ana",
        url=f"https://tracker.invalid/browse/{issue.key}",
    )
    return item, tuple(moves), changes


def pull_at(
    pull: PullWorld, instant: datetime
) -> tuple[WorkItem, tuple[Transition, ...], tuple[ReviewEvent, ...]]:
    """The pull request as GitHub showed it at ``instant``."""
    item_id = pull_id(pull)
    events = [
        ReviewEvent(item_id, when, state, who)
        for when, state, who in pull.reviews
        if when <= instant
    ]
    if pull.ready is not None and pull.ready <= instant:
        events.append(ReviewEvent(item_id, pull.ready, ReviewState.READY_FOR_REVIEW, None))
    events.sort(key=lambda e: e.at)
    draft = pull.was_draft and not (pull.ready is not None and pull.ready <= instant)
    end = pull.end if pull.end is not None and pull.end <= instant else None
    if end is None:
        status, stage = ("draft" if draft else "open"), Stage.ACTIVE
    else:
        status, stage = ("merged", Stage.DONE) if pull.merged else ("closed", Stage.CANCELLED)
    moves = () if end is None else (Transition(item_id, end, "open", status, Stage.ACTIVE, stage),)
    merged = end if pull.merged else None
    item = WorkItem(
        id=item_id,
        team=TEAM,
        source="test",
        key=f"acme/api#{pull.number}",
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title=f"Change {pull.number}",
        status=status,
        stage=stage,
        created_at=pull.created,
        updated_at=max([pull.created, *(e.at for e in events), *([end] if end else [])]),
        resolved_at=end,
        author="ana",
        draft=draft,
        merged_at=merged,
        merge_sha=None if merged is None else f"sha{pull.number}",
        additions=pull.additions,
        deletions=5,
    )
    return item, moves, tuple(events)


def incident_at(incident: Incident, instant: datetime) -> Incident:
    acknowledged, resolved = incident.acknowledged_at, incident.resolved_at
    return replace(
        incident,
        acknowledged_at=acknowledged if acknowledged and acknowledged <= instant else None,
        resolved_at=resolved if resolved and resolved <= instant else None,
    )


def queued(run: PipelineRun) -> datetime:
    assert run.created_at is not None  # every run of a world has one
    return run.created_at


def run_at(run: PipelineRun, instant: datetime) -> PipelineRun:
    """As the GitHub and GitLab mappings read a run: started at its creation until it starts."""
    finished = run.finished_at is not None and run.finished_at <= instant
    return replace(
        run,
        outcome=run.outcome if finished else Outcome.RUNNING,
        started_at=run.started_at if run.started_at <= instant else queued(run),
        finished_at=run.finished_at if finished else None,
    )


def everything(world: World) -> Snapshot:
    """The full data: a sync run after everything happened, removed items kept with their date."""
    return stored_at(world, AFTER_ALL, removed_kept=True)


# --- The properties -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), hours)
def test_the_report_as_of_an_instant_equals_the_report_on_the_data_stored_then(
    world: World, hour: int
) -> None:
    instant = at(hour)
    agreements = Agreements(wip_limit=3)

    past = build_report(everything(world), agreements, instant, TZ, 14)
    then = build_report(stored_at(world, instant), agreements, instant, TZ, 14)

    assert past == then


@settings(max_examples=60, deadline=None)
@given(worlds(), hours)
def test_the_snapshot_as_of_an_instant_is_the_data_stored_then(world: World, hour: int) -> None:
    instant = at(hour)

    past = snapshot_as_of(everything(world), instant)
    then = stored_at(world, instant)

    assert [as_stored(i) for i in past.items] == [as_stored(i) for i in then.items]
    for events in ("transitions", "flags", "reviews"):
        mine, theirs = getattr(past, events), getattr(then, events)
        assert {k: list(v) for k, v in mine.items() if v} == {
            k: list(v) for k, v in theirs.items() if v
        }
    assert list(past.deployments) == list(then.deployments)
    assert list(past.incidents) == list(then.incidents)
    assert sorted(past.pipeline_runs, key=by_id) == sorted(then.pipeline_runs, key=by_id)


def as_stored(item: WorkItem) -> WorkItem:
    """The item, a pull request's status name aside (history says "open", GitHub "draft")."""
    if item.kind is ItemKind.PULL_REQUEST and item.status == "draft":
        return replace(item, status="open")
    return item


def by_id(record: PipelineRun) -> str:
    return record.id


def test_a_snapshot_with_nothing_later_is_its_own_past() -> None:
    world = World([], [], DeliveryWorld())
    world.issues.append(
        IssueWorld("PAY-1", "Story", at(0), "Backlog", [(at(5), "In Progress")], [at(6)], None)
    )
    snapshot = stored_at(world, at(10))

    assert snapshot_as_of(snapshot, at(10)) is snapshot
    assert snapshot_as_of(snapshot, at(6)) is snapshot
    assert snapshot_as_of(snapshot, at(5)) != snapshot
