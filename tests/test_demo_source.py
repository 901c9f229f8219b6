"""The demo source: deterministic, resumable, well-formed, and carrying the planted problems."""

from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from insights.model import (
    Deployment,
    Incident,
    ItemHistory,
    ItemKind,
    Outcome,
    Page,
    PipelineRun,
    ReviewState,
    Stage,
    WorkItem,
)
from insights.workflow import Workflow
from integrations import demo
from integrations.base import SourceContext, SourceError
from integrations.demo_story import TRAIN_DAYS

NOW = datetime(2026, 11, 25, 16, 0, 37, tzinfo=UTC)
ANCHOR = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
APP_WORKFLOW = {
    "Backlog": Stage.BACKLOG,
    "Selected for Development": Stage.WAITING,
    "In Progress": Stage.ACTIVE,
    "Code Review": Stage.ACTIVE,
    "Ready for QA": Stage.WAITING,
    "QA": Stage.ACTIVE,
    "Blocked": Stage.BLOCKED,
    "Done": Stage.DONE,
    "Won't Do": Stage.CANCELLED,
}


def make_source(
    seed: int = 7,
    now: datetime = NOW,
    workflow: dict[str, Stage] | None = None,
    items: int = 420,
    days: int = 180,
    page_size: int = 100,
) -> demo.DemoSource:
    ctx = SourceContext(
        team="payments",
        workflow=Workflow(dict(APP_WORKFLOW if workflow is None else workflow)),
        now=lambda: now,
        sleep=lambda s: None,
    )
    config = demo.Config(seed=seed, items=items, days=days, page_size=page_size)
    return demo.build(config, ctx)


def flatten(pages: list[Page]) -> list[object]:
    return [
        record
        for page in pages
        for group in (page.histories, page.deployments, page.pipeline_runs, page.incidents)
        for record in group
    ]


@pytest.fixture(scope="module")
def pages() -> list[Page]:
    return list(make_source().pull(None))


@pytest.fixture(scope="module")
def records(pages: list[Page]) -> list[object]:
    return flatten(pages)


@pytest.fixture(scope="module")
def histories(records: list[object]) -> list[ItemHistory]:
    return [r for r in records if isinstance(r, ItemHistory)]


@pytest.fixture(scope="module")
def issues(histories: list[ItemHistory]) -> list[ItemHistory]:
    return [h for h in histories if h.item.kind is ItemKind.ISSUE]


@pytest.fixture(scope="module")
def prs(histories: list[ItemHistory]) -> list[ItemHistory]:
    return [h for h in histories if h.item.kind is ItemKind.PULL_REQUEST]


def started_at(history: ItemHistory) -> datetime | None:
    return next((t.at for t in history.transitions if t.to_stage.in_progress), None)


def age(history: ItemHistory) -> timedelta:
    """Time since the item started (zero when it never did)."""
    start = started_at(history)
    return timedelta(0) if start is None else ANCHOR - start


def record_id(record: object) -> str:
    if isinstance(record, ItemHistory):
        return record.item.id
    assert isinstance(record, Deployment | PipelineRun | Incident)
    return record.id


def wip(issues: list[ItemHistory], at: datetime) -> int:
    workflow = Workflow(dict(APP_WORKFLOW))
    return sum(1 for h in issues if workflow.stage_for(status_at(h, at)).in_progress)


def status_at(history: ItemHistory, at: datetime) -> str:
    status = "Backlog"
    for transition in history.transitions:
        if transition.at <= at:
            status = transition.to_status
    return status


# --- the source contract ----------------------------------------------------------------------


def test_module_contract() -> None:
    config = demo.Config()
    assert demo.SOURCE_TYPE == "demo" and demo.DemoSource.kind == "demo"
    assert (config.type, config.seed, config.items, config.days, config.page_size) == (
        "demo",
        7,
        420,
        180,
        100,
    )
    with pytest.raises(ValidationError):
        demo.Config(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        demo.Config(page_size=0)


def test_same_seed_and_anchor_give_identical_pages(pages: list[Page]) -> None:
    assert list(make_source().pull(None)) == pages
    later_in_the_same_minute = NOW.replace(second=59)
    assert list(make_source(now=later_in_the_same_minute).pull(None)) == pages


def test_different_seed_gives_different_data(records: list[object]) -> None:
    other = flatten(list(make_source(seed=8).pull(None)))
    assert other != records
    assert {r.item.title for r in other if isinstance(r, ItemHistory)} != {
        r.item.title for r in records if isinstance(r, ItemHistory)
    }


def test_pages_respect_page_size_and_carry_increasing_offsets(pages: list[Page]) -> None:
    assert len(pages) > 3
    offsets = []
    for page in pages:
        assert 0 < page.record_count <= 100
        state = json.loads(page.cursor or "")
        assert datetime.fromisoformat(state["anchor"]) == ANCHOR
        offsets.append(state["offset"])
    assert offsets == sorted(offsets)
    assert offsets[-1] == sum(p.record_count for p in pages)
    assert all(p.record_count == 100 for p in pages[:-1])


def test_resuming_from_any_page_yields_exactly_the_rest(pages: list[Page]) -> None:
    everything = flatten(pages)
    three_days_later = make_source(now=NOW + timedelta(days=3))
    for k, page in enumerate(pages):
        rest = list(three_days_later.pull(page.cursor))
        assert flatten(pages[: k + 1]) + flatten(rest) == everything
        assert [p.cursor for p in rest] == [p.cursor for p in pages[k + 1 :]]


def test_pull_from_the_final_cursor_yields_nothing(pages: list[Page]) -> None:
    assert list(make_source(now=NOW + timedelta(days=1)).pull(pages[-1].cursor)) == []


def test_history_is_ordered_and_deliveries_come_last(
    pages: list[Page], histories: list[ItemHistory]
) -> None:
    keys = [(h.item.updated_at, h.item.id) for h in histories]
    assert keys == sorted(keys)
    first_delivery = next(i for i, p in enumerate(pages) if p.deployments or p.pipeline_runs)
    assert not any(p.histories for p in pages[first_delivery + 1 :])


def test_dry_run_counts_what_a_full_pull_yields(
    records: list[object], histories: list[ItemHistory]
) -> None:
    assert make_source().dry_run() == {
        "items": len(histories),
        "transitions": sum(len(h.transitions) for h in histories),
        "deployments": sum(isinstance(r, Deployment) for r in records),
        "incidents": sum(isinstance(r, Incident) for r in records),
        "pipeline_runs": sum(isinstance(r, PipelineRun) for r in records),
    }


def test_bad_cursor_is_a_source_error() -> None:
    for cursor in ("not json", '{"offset": 3}', '{"anchor": "2026-11-25T16:00:00", "offset": 1}'):
        with pytest.raises(SourceError):
            list(make_source().pull(cursor))


def test_tiny_configurations_still_work() -> None:
    empty = list(make_source(items=0, days=3).pull(None))
    assert len(empty) >= 1 and empty[-1].cursor is not None
    small = flatten(list(make_source(items=5, days=2, page_size=1).pull(None)))
    assert len([r for r in small if isinstance(r, ItemHistory)]) >= 5


def test_unmapped_statuses_are_reported() -> None:
    assert all(not p.unmapped_statuses for p in make_source().pull(None))
    partial = {k: v for k, v in APP_WORKFLOW.items() if k != "Blocked"}
    pages = list(make_source(workflow=partial).pull(None))
    assert pages[0].unmapped_statuses == frozenset({"Blocked"})


# --- well-formed records ----------------------------------------------------------------------


def test_every_datetime_is_aware_utc_and_before_the_anchor(records: list[object]) -> None:
    def check(value: object) -> None:
        if isinstance(value, datetime):
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
            assert value < ANCHOR
        elif isinstance(value, tuple | list):
            for v in value:
                check(v)
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                check(getattr(value, f.name))

    for record in records:
        check(record)


def test_ids_are_unique_and_source_qualified(records: list[object]) -> None:
    ids = [record_id(r) for r in records]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("demo:") for i in ids)
    issue_ids = {i for i in ids if i.startswith("demo:issue:payments/PAY-")}
    assert issue_ids == {f"demo:issue:payments/PAY-{n}" for n in range(1, 421)}


def test_transitions_chain_strictly_in_time_with_workflow_stages(
    histories: list[ItemHistory],
) -> None:
    workflow = Workflow(dict(APP_WORKFLOW))
    for h in histories:
        previous_at, previous_status = h.item.created_at, None
        for t in h.transitions:
            assert t.item_id == h.item.id and t.at > previous_at
            assert t.from_status != t.to_status
            if previous_status is not None:
                assert t.from_status == previous_status
            if h.item.kind is ItemKind.ISSUE:
                assert t.to_stage is workflow.stage_for(t.to_status)
                assert t.from_stage is workflow.stage_for(t.from_status or "")
            previous_at, previous_status = t.at, t.to_status
        if h.item.kind is ItemKind.ISSUE:
            assert (h.transitions[0].from_status if h.transitions else "Backlog") == "Backlog"
            assert h.item.status == (previous_status or "Backlog")
            assert h.item.stage is workflow.stage_for(h.item.status)
        events = [t.at for t in h.transitions] + [f.at for f in h.flags] + [r.at for r in h.reviews]
        last = max([h.item.created_at, *events])
        assert h.item.updated_at == last
        assert (h.item.resolved_at is not None) == h.item.stage.finished


def test_stages_come_from_the_team_workflow() -> None:
    qa_waits = {**APP_WORKFLOW, "QA": Stage.WAITING}
    histories = [r for r in flatten(list(make_source(workflow=qa_waits).pull(None)))]
    stages = {
        t.to_stage
        for h in histories
        if isinstance(h, ItemHistory)
        for t in h.transitions
        if t.to_status == "QA"
    }
    assert stages == {Stage.WAITING}


def test_issues_look_like_a_real_tracker(issues: list[ItemHistory]) -> None:
    items = [h.item for h in issues]
    assert {i.type for i in items} == {"Story", "Bug", "Task", "Spike"}
    assert {"tech-debt", "security"} <= {label for i in items for label in i.labels}
    assert all(i.team == "payments" and i.source == "demo" for i in items)
    assert items[0].url is not None and items[0].url.endswith(f"/browse/{items[0].key}")
    statuses = {i.status for i in items}
    assert {"Backlog", "Done", "Won't Do"} <= statuses
    assert all(i.assignee for i in items if i.stage.in_progress or i.stage is Stage.DONE)
    flagged = [h for h in issues if h.flags]
    assert 0.04 < len(flagged) / sum(1 for h in issues if started_at(h)) < 0.15


def test_flow_has_skips_reopens_and_healthy_cycle_times(issues: list[ItemHistory]) -> None:
    moves = [(t.from_status, t.to_status) for h in issues for t in h.transitions]
    assert ("Backlog", "In Progress") in moves  # some items skip Selected
    assert ("QA", "In Progress") in moves
    assert ("Done", "In Progress") in moves
    done = [h for h in issues if h.item.stage is Stage.DONE]
    cycle = sorted(
        (h.item.resolved_at - start).total_seconds() / 86400
        for h in done
        if h.item.resolved_at is not None and (start := started_at(h)) is not None
    )
    assert len(cycle) > 100
    assert 3 <= statistics.median(cycle) <= 12
    p85 = cycle[int(0.85 * len(cycle))]
    assert 9 <= p85 <= 16
    assert sum(3 <= c <= 15 for c in cycle) / len(cycle) > 0.75


def test_pull_requests_link_issues_and_have_reviews(
    issues: list[ItemHistory], prs: list[ItemHistory]
) -> None:
    keys = {h.item.key for h in issues}
    assert len(prs) > 100
    for h in prs:
        pr: WorkItem = h.item
        assert pr.key.startswith("acme/payments#") and pr.type == "pull_request"
        assert pr.linked_keys and pr.linked_keys[0] in keys
        assert pr.head_branch and pr.linked_keys[0] in pr.head_branch
        assert pr.first_commit_at is not None and pr.first_commit_at < pr.created_at
        assert pr.status in {"open", "merged", "closed"}
        assert (pr.merged_at is not None) == (pr.status == "merged") == (pr.merge_sha is not None)
        assert all(r.reviewer != pr.author for r in h.reviews)
        assert [r.at for r in h.reviews] == sorted(r.at for r in h.reviews)
        if pr.merged_at is not None:
            assert all(r.at <= pr.merged_at for r in h.reviews)
    assert any((h.item.additions or 0) + (h.item.deletions or 0) > 400 for h in prs)
    merged = [h for h in prs if h.item.status == "merged"]
    unreviewed = [h for h in merged if not h.reviews]
    assert 0 < len(unreviewed) < 0.15 * len(merged)
    states = {r.state for h in prs for r in h.reviews}
    assert {ReviewState.REQUESTED, ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED} <= states


def test_deployments_ship_merged_prs_and_incidents_follow_them(
    records: list[object], prs: list[ItemHistory]
) -> None:
    deploys = [r for r in records if isinstance(r, Deployment)]
    merged = {h.item.id: h.item.merged_at for h in prs if h.item.merged_at is not None}
    assert 60 <= len(deploys) <= 130
    assert all(d.environment == "production" and d.repo == "acme/payments" for d in deploys)
    assert all(d.finished_at.weekday() < 5 for d in deploys)
    failures = [d for d in deploys if d.outcome is Outcome.FAILURE]
    assert 0 < len(failures) < 0.2 * len(deploys)
    shipped = [i for d in deploys if d.is_production_success for i in d.shipped_item_ids]
    assert len(shipped) == len(set(shipped))  # each PR ships once
    for d in deploys:
        assert d.shipped_item_ids
        assert d.started_at is not None
        assert all(merged[i] <= d.started_at for i in d.shipped_item_ids)
    incidents = [r for r in records if isinstance(r, Incident)]
    by_id = {d.id: d for d in deploys}
    assert 4 <= len(incidents) <= 8
    for incident in incidents:
        deploy = by_id[incident.deployment_id or ""]
        assert deploy.is_production_success and deploy.finished_at < incident.created_at
        assert incident.resolved_at is not None and incident.created_at < incident.resolved_at
        assert incident.urgency in {"high", "low"}


def test_pipeline_runs_cover_branches_and_main(records: list[object]) -> None:
    runs = [r for r in records if isinstance(r, PipelineRun)]
    assert {r.branch for r in runs} > {"main"}
    assert any(r.outcome is Outcome.FAILURE for r in runs)
    for run in runs:
        assert run.name == "ci"
        if run.finished_at is not None:
            assert timedelta(minutes=1) < run.finished_at - run.started_at < timedelta(minutes=20)


# --- the planted problems, at the anchor ------------------------------------------------------


def test_aging_items_far_past_the_usual_cycle_time(issues: list[ItemHistory]) -> None:
    active = [h for h in issues if h.item.status in {"In Progress", "Code Review"}]
    aging = [h for h in active if age(h) > timedelta(days=25)]
    assert len(aging) >= 3
    assert all(age(h) < timedelta(days=41) for h in aging)
    assert {h.item.status for h in aging} == {"In Progress", "Code Review"}


def test_flagged_items_never_cleared_and_one_blocked_item(issues: list[ItemHistory]) -> None:
    flagged = [h for h in issues if h.flags and h.flags[-1].flagged]
    assert len(flagged) == 2
    for h in flagged:
        assert h.item.status == "In Progress"
        assert timedelta(days=3) <= ANCHOR - h.flags[-1].at <= timedelta(days=6)
    cleared = [h for h in issues if h.flags and not h.flags[-1].flagged]
    assert cleared and all(len(h.flags) % 2 == 0 for h in cleared)
    blocked = [h for h in issues if h.item.status == "Blocked"]
    assert len(blocked) == 1 and blocked[0].item.stage is Stage.BLOCKED
    since = ANCHOR - blocked[0].transitions[-1].at
    assert timedelta(days=3.9) <= since <= timedelta(days=4.2)


def test_pull_requests_waiting_for_a_first_review(prs: list[ItemHistory]) -> None:
    waiting = [
        h
        for h in prs
        if h.item.status == "open"
        and not h.item.draft
        and [r.state for r in h.reviews] == [ReviewState.REQUESTED]
        and ANCHOR - h.reviews[0].at > timedelta(hours=48)
    ]
    assert len(waiting) >= 3
    assert all(ANCHOR - h.reviews[0].at < timedelta(days=4) for h in waiting)
    assert "eli-novak" in {h.reviews[0].reviewer for h in waiting}  # matched in people:


def test_a_review_that_waited_for_days_came_through_today(prs: list[ItemHistory]) -> None:
    late = [
        h
        for h in prs
        if h.item.merged_at is not None
        and ANCHOR - h.item.merged_at < timedelta(days=1)
        and [r.state for r in h.reviews] == [ReviewState.REQUESTED, ReviewState.APPROVED]
        and h.reviews[1].at - h.reviews[0].at > timedelta(days=3)
    ]
    assert len(late) == 1


def test_wip_above_the_limit(issues: list[ItemHistory]) -> None:
    in_progress = [h for h in issues if h.item.stage.in_progress]
    assert 10 < len(in_progress) <= 19
    assert sum(h.item.status == "In Progress" for h in in_progress) > 5
    weeks_ago = [wip(issues, ANCHOR - timedelta(days=d)) for d in range(60, 120, 7)]
    assert statistics.mean(weeks_ago) <= 11  # a healthy team before it piled up


def test_queue_growing_before_qa(issues: list[ItemHistory]) -> None:
    queue = [h for h in issues if h.item.status == "Ready for QA"]
    assert 6 <= len(queue) <= 9
    for h in queue:
        assert ANCHOR - h.transitions[-1].at < timedelta(days=21)
    entered = sorted(h.transitions[-1].at for h in queue)
    assert entered[-1] - entered[0] > timedelta(days=10)  # piled up over weeks, not at once
    three_weeks_ago = [h for h in issues if status_at(h, ANCHOR - timedelta(21)) == "Ready for QA"]
    assert len(three_weeks_ago) < len(queue) / 2


@pytest.mark.parametrize("seed", [1, 8, 42, 2024])
def test_planted_problems_hold_for_other_seeds(seed: int) -> None:
    histories = [
        r for r in flatten(list(make_source(seed=seed).pull(None))) if isinstance(r, ItemHistory)
    ]
    issues = [h for h in histories if h.item.kind is ItemKind.ISSUE]
    statuses = [h.item.status for h in issues if h.item.stage.in_progress]
    assert 10 < len(statuses) <= 19 and statuses.count("In Progress") > 5
    assert statuses.count("Ready for QA") >= 6
    assert sum(1 for h in issues if h.flags and h.flags[-1].flagged) == 2
    assert sum(1 for h in issues if h.item.stage.in_progress and age(h) > timedelta(days=25)) >= 3
    waiting = [
        h
        for h in histories
        if h.item.status == "open" and [r.state for r in h.reviews] == [ReviewState.REQUESTED]
    ]
    assert len(waiting) >= 3


# --- the value stream across tools --------------------------------------------------------------


def finished_issue_events(records: list[object], since: datetime, until: datetime) -> list[dict]:
    """Per issue done in ``[since, until)``: its value-stream events (METRICS.md section 6)."""
    histories = [r for r in records if isinstance(r, ItemHistory)]
    prs: dict[str, list[ItemHistory]] = {}
    for h in histories:
        if h.item.kind is ItemKind.PULL_REQUEST:
            prs.setdefault(h.item.linked_keys[0], []).append(h)
    live = sorted(
        (r for r in records if isinstance(r, Deployment) and r.is_production_success),
        key=lambda d: d.finished_at,
    )
    out = []
    for h in histories:
        item, done = h.item, h.item.resolved_at
        if item.kind is not ItemKind.ISSUE or item.stage is not Stage.DONE:
            continue
        if done is None or not since <= done < until:
            continue
        events = {"created": item.created_at, "done": done, "committed": started_at(h)}
        linked = prs.get(item.key, [])
        reviews = [r for p in linked for r in p.reviews if r.state is not ReviewState.REQUESTED]
        merged = [p.item for p in linked if p.item.merged_at is not None]
        events["pr_opened"] = min((p.item.created_at for p in linked), default=None)
        events["first_review"] = min((r.at for r in reviews), default=None)
        if merged:
            last = max(merged, key=lambda p: p.merged_at or p.created_at)
            events["merged"] = last.merged_at
            approvals = [r.at for r in reviews if r.state is ReviewState.APPROVED]
            events["approved"] = max(approvals, default=None)
            deploy = next((d for d in live if last.id in d.shipped_item_ids), None)
            events["deployed"] = None if deploy is None else deploy.finished_at
        out.append({k: v for k, v in events.items() if v is not None})
    return out


BEFORE_THE_TRAIN = ANCHOR - timedelta(days=TRAIN_DAYS)


def merge_waits(records: list[object], since: datetime, until: datetime) -> list[float]:
    """Days from the last merge to production of each issue done in ``[since, until)``."""
    return [
        (e["deployed"] - e["merged"]).total_seconds() / 86400
        for e in finished_issue_events(records, since, until)
        if "deployed" in e
    ]


def test_finished_items_have_the_whole_value_stream(records: list[object]) -> None:
    recent = finished_issue_events(records, ANCHOR - timedelta(30), ANCHOR)
    chain = ("created", "committed", "pr_opened", "first_review", "approved", "merged")
    everything = (*chain, "deployed", "done")
    assert len(recent) >= 15
    assert sum(set(everything) <= e.keys() for e in recent) >= 0.7 * len(recent)
    with_code = [e for e in recent if "merged" in e]
    assert len(with_code) >= 0.8 * len(recent)
    for e in with_code:  # done means live: every merged item reached production, then done
        assert e["merged"] < e["deployed"] < e["done"]
        present = [e[k] for k in chain if k in e]
        assert present == sorted(present)


def test_a_weekly_release_train_makes_merged_code_wait(records: list[object]) -> None:
    deploys = [r for r in records if isinstance(r, Deployment)]
    train = sorted(
        {d.started_at.date() for d in deploys if d.started_at and d.started_at >= BEFORE_THE_TRAIN}
    )
    assert len(train) >= 4 and {day.weekday() for day in train} == {3}  # Thursdays
    assert all(later - day == timedelta(days=7) for day, later in itertools.pairwise(train))
    before = {
        d.started_at.date() for d in deploys if d.started_at and d.started_at < BEFORE_THE_TRAIN
    }
    assert {day.weekday() for day in before} == {0, 1, 2, 3, 4}
    recent = merge_waits(records, ANCHOR - timedelta(30), ANCHOR)
    earlier = merge_waits(records, BEFORE_THE_TRAIN - timedelta(30), BEFORE_THE_TRAIN)
    assert statistics.median(recent) > 3 and statistics.mean(recent) > 4
    assert statistics.median(earlier) < 0.5 and statistics.mean(earlier) < 1


@pytest.mark.parametrize("seed", [1, 8, 42])
def test_the_release_wait_holds_for_other_seeds(seed: int) -> None:
    records = flatten(list(make_source(seed=seed).pull(None)))
    recent = merge_waits(records, ANCHOR - timedelta(30), ANCHOR)
    earlier = merge_waits(records, BEFORE_THE_TRAIN - timedelta(30), BEFORE_THE_TRAIN)
    assert statistics.median(recent) > 3 * statistics.median(earlier)
    assert statistics.mean(recent) > 2 > 1 > statistics.mean(earlier)


def test_every_merge_built_in_time_ships_exactly_once(
    records: list[object], prs: list[ItemHistory]
) -> None:
    live = [r for r in records if isinstance(r, Deployment) and r.is_production_success]
    shipped = [i for d in live for i in d.shipped_item_ids]
    last_release = max(d.started_at for d in live if d.started_at)
    built_before = {
        h.item.id
        for h in prs
        if h.item.merged_at is not None and h.item.merged_at < last_release - timedelta(days=2)
    }
    assert built_before <= set(shipped) and len(shipped) == len(set(shipped))


def test_runs_build_commits_and_one_deployment_is_untraced(
    records: list[object], prs: list[ItemHistory]
) -> None:
    runs = [r for r in records if isinstance(r, PipelineRun)]
    assert all(r.sha and len(r.sha) == 40 for r in runs)
    merge_shas = {h.item.merge_sha: h.item for h in prs if h.item.merge_sha}
    main = [r for r in runs if r.branch == "main"]
    assert main and all(r.sha in merge_shas for r in main)
    built = {r.sha for r in runs if r.outcome is Outcome.SUCCESS}
    deploys = [r for r in records if isinstance(r, Deployment)]
    untraced = [d for d in deploys if d.sha not in built]
    assert len(untraced) == 1 and untraced[0].is_production_success
    assert ANCHOR - untraced[0].finished_at < timedelta(days=7)  # the last week's release
    by_id = {pr.id: pr for pr in merge_shas.values()}
    for d in deploys:
        newest = max((by_id[i] for i in d.shipped_item_ids), key=lambda p: p.merged_at or ANCHOR)
        assert d in untraced or d.sha == newest.merge_sha
