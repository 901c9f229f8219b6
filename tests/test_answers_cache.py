"""The answers' snapshot cache stays warm across syncs, and always equals a fresh load.

Syncs after the demo's first one come from a scripted source (``bot.sync.build_source`` patched):
items move, gain or lose events, appear, are reconciled away and come back; delivery records are
added and changed. After each sync the cached snapshot and report must equal a fresh load's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

import bot.sync
from bot.config import load_config
from bot.runtime import Runtime
from bot.slack.answering.answers import Answers
from bot.snapshot_cache import SnapshotCache, replay, snapshot_records
from bot.sync import SyncJournal, SyncRecorder, sync_teams
from bot.tracked_scopes import team_scopes
from insights.model import (
    Deployment,
    FlagChange,
    ItemHistory,
    LiveItems,
    Outcome,
    Page,
    PipelineRun,
    Plan,
    PlanSet,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
)
from insights.report import build_report
from insights.report_json import report_to_json
from integrations.base import SourceError
from storage.health import record_health
from storage.pages import WriteCounts, save_page
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

CONFIG = load_config(DEMO_CONFIG, env={})
TEAM = CONFIG.teams[0]
ISSUES = "demo:issue:payments/PAY-"


class Scripted:
    """A source yielding the given pages, whatever the cursor, then failing if told to."""

    kind = "demo"

    def __init__(self, pages: list[Page], fails: bool = False) -> None:
        self.pages = pages
        self.fails = fails

    def pull(self, cursor: str | None) -> Iterator[Page]:
        yield from self.pages
        if self.fails:
            raise SourceError("demo: the vendor went away")


@pytest.fixture
def runtime(engine) -> Runtime:
    """The demo config on a fresh database (SQLite, and PostgreSQL when configured), synced."""
    runtime = Runtime(config=CONFIG, engine=engine, clock=lambda: NOW, sleep=lambda s: None)
    sync_teams(runtime)
    return runtime


def fresh(runtime: Runtime) -> Snapshot:
    return load_snapshot(runtime.engine, TEAM.name, list(TEAM.workflow))


def sync(runtime: Runtime, monkeypatch, at: datetime, *pages: Page, fails: bool = False) -> None:
    """One sync of the team's source at ``at``, storing ``pages`` (then failing if told to)."""
    source = Scripted(list(pages), fails)
    monkeypatch.setattr(bot.sync, "build_source", lambda config, context: source)
    runtime.clock = lambda: at
    [result] = sync_teams(runtime)
    assert (result.error is not None) == fails


def history(snapshot: Snapshot, item_id: str) -> ItemHistory:
    item = next(i for i in snapshot.items if i.id == item_id)
    return ItemHistory(
        item,
        tuple(snapshot.transitions.get(item_id, ())),
        tuple(snapshot.flags.get(item_id, ())),
        tuple(snapshot.reviews.get(item_id, ())),
    )


def finished(h: ItemHistory, at: datetime) -> ItemHistory:
    """``h`` moved to Done at ``at``."""
    item = h.item
    move = Transition(item.id, at, item.status, "Done", item.stage, Stage.DONE)
    done = replace(item, status="Done", stage=Stage.DONE, updated_at=at, resolved_at=at)
    return replace(h, item=done, transitions=(*h.transitions, move))


def assert_cache_is_fresh(answers: Answers, runtime: Runtime, now: datetime) -> None:
    cached = answers.snapshot(TEAM)
    loaded = fresh(runtime)
    assert cached == loaded
    assert [i.id for i in cached.items] == [i.id for i in loaded.items]
    assert list(cached.transitions) == list(loaded.transitions)
    scopes = team_scopes(runtime.engine, TEAM, loaded)
    report = build_report(loaded, TEAM.agreements, now, TEAM.zone, 30, scopes=scopes)
    assert report_to_json(answers.report(TEAM, now)) == report_to_json(report)


def test_a_cache_updated_by_syncs_reports_as_a_fresh_load(runtime, monkeypatch) -> None:
    answers = Answers(runtime.engine)
    assert_cache_is_fresh(answers, runtime, NOW)
    start = fresh(runtime)
    in_progress = [i.id for i in start.items if i.id.startswith(ISSUES) and i.stage.in_progress]
    flagged = next(iter(start.flags))
    pull_request = next(i.id for i in start.items if i.id in start.reviews)

    at = NOW + timedelta(minutes=15)
    moved = finished(history(start, in_progress[0]), at - timedelta(minutes=5))
    unflagged = history(start, flagged)
    unflagged = replace(unflagged, item=replace(unflagged.item, title="Renamed"), flags=())
    template = history(start, in_progress[1]).item
    created = replace(
        template,
        id=f"{ISSUES}1000",
        key="PAY-1000",
        title="A new story",
        created_at=NOW - timedelta(days=2),
        updated_at=NOW - timedelta(days=1),
    )
    arrival = Transition(
        created.id, NOW - timedelta(days=1), "Backlog", created.status, Stage.BACKLOG, created.stage
    )
    late = Deployment(
        "demo:deploy:payments/999", TEAM.name, "demo", "production", Outcome.SUCCESS, at,
        production=True,
    )  # fmt: skip
    failed = replace(start.deployments[0], outcome=Outcome.FAILURE)
    page = Page(
        histories=[moved, unflagged, ItemHistory(created, (arrival,))],
        deployments=[late, failed],
    )
    sync(runtime, monkeypatch, at, page)
    assert_cache_is_fresh(answers, runtime, at)

    at = NOW + timedelta(minutes=30)
    reviewed = history(start, pull_request)
    approval = ReviewEvent(pull_request, at - timedelta(minutes=1), ReviewState.APPROVED, "ben")
    reviewed = replace(reviewed, reviews=(*reviewed.reviews, approval))
    incident = replace(start.incidents[0], resolved_at=at - timedelta(minutes=2))
    issues = {i.id for i in fresh(runtime).items if i.id.startswith(ISSUES)}
    gone = {in_progress[2], moved.item.id}
    live = LiveItems(TEAM.name, "demo", (ISSUES,), frozenset(issues - gone))
    sync(
        runtime,
        monkeypatch,
        at,
        Page(histories=[reviewed], incidents=[incident]),
        Page(live_items=live),
    )
    assert gone.isdisjoint(i.id for i in fresh(runtime).items), "the reconciliation removed them"
    assert_cache_is_fresh(answers, runtime, at)

    at = NOW + timedelta(minutes=45)
    back = history(start, in_progress[2])
    flag = FlagChange(back.item.id, at - timedelta(minutes=3), True)
    run = PipelineRun(
        "demo:run:payments/9999", TEAM.name, "demo", "ci", "main", Outcome.FAILURE, at
    )
    sync(runtime, monkeypatch, at, Page(histories=[replace(back, flags=(flag,))]))
    sync(runtime, monkeypatch, at, Page(pipeline_runs=[run]))  # same stamp: the journal tells
    assert_cache_is_fresh(answers, runtime, at)

    assert answers.snapshots.loads == 1, "every sync was replayed, none reloaded the team"


def test_a_complete_plan_set_drops_the_plans_it_lacks_as_storage_does(runtime, monkeypatch) -> None:
    answers = Answers(runtime.engine)
    planted = answers.snapshot(TEAM).plans[0]
    web = Plan(TEAM.name, "github:acme/web", "release", "web 1", "web 1")
    bugs = Plan(TEAM.name, "jira", "filter", "10042", "Bugs", item_keys=("PAY-1",))
    at = NOW + timedelta(minutes=15)
    sync(runtime, monkeypatch, at, Page(plans=[web, bugs]))
    assert_cache_is_fresh(answers, runtime, at)

    at = NOW + timedelta(minutes=30)
    renamed = replace(planted, key=f"{planted.key}.1", name=f"{planted.name}.1")
    sets = [
        PlanSet(TEAM.name, planted.source, "release"),
        PlanSet(TEAM.name, "jira", "filter"),
        PlanSet("another team", "github:acme/web", "release"),
    ]
    sync(runtime, monkeypatch, at, Page(plans=[renamed], plan_sets=sets))

    assert {p.key for p in fresh(runtime).plans} == {renamed.key, "web 1"}
    assert_cache_is_fresh(answers, runtime, at)
    assert answers.snapshots.loads == 1


def test_the_pages_a_failing_sync_stored_are_replayed(runtime, monkeypatch) -> None:
    answers = Answers(runtime.engine)
    start = answers.snapshot(TEAM)
    at = NOW + timedelta(minutes=15)
    moved = finished(history(start, next(i.id for i in start.items if i.stage.in_progress)), at)
    sync(runtime, monkeypatch, at, Page([moved]), fails=True)

    assert_cache_is_fresh(answers, runtime, at)
    assert answers.snapshots.loads == 1


@pytest.mark.parametrize("then_a_sync_here", [False, True])
def test_changes_the_journal_did_not_see_reload_the_team(
    runtime, monkeypatch, then_a_sync_here: bool
) -> None:
    answers = Answers(runtime.engine)
    start = answers.snapshot(TEAM)
    in_progress = [i.id for i in start.items if i.stage.in_progress]
    at = NOW + timedelta(minutes=15)
    moved = finished(history(start, in_progress[0]), at)
    save_page(runtime.engine, "payments/demo", Page([moved]), at)  # another process's sync
    record_health(runtime.engine, source_key="payments/demo", team=TEAM.name, source="demo", now=at)
    if then_a_sync_here:  # journaled, but it starts where the other process's sync ended
        at += timedelta(minutes=15)
        sync(runtime, monkeypatch, at, Page([finished(history(start, in_progress[1]), at)]))

    assert_cache_is_fresh(answers, runtime, at)
    assert answers.snapshots.loads == 2


def test_a_merged_page_reloads_the_team(runtime, monkeypatch) -> None:
    answers = Answers(runtime.engine)
    start = answers.snapshot(TEAM)
    at = NOW + timedelta(minutes=15)
    item_id = next(iter(start.flags))
    flag = FlagChange(item_id, at - timedelta(minutes=1), True)
    merged = ItemHistory(history(start, item_id).item, flags=(flag,))
    sync(runtime, monkeypatch, at, Page([merged], merge_histories=True))  # a CSV re-import

    assert_cache_is_fresh(answers, runtime, at)
    assert answers.snapshots.loads == 2


def test_a_reconciliation_listing_an_item_the_snapshot_lacks_cannot_be_replayed(
    runtime,
) -> None:
    snapshot = fresh(runtime)
    ids = frozenset({*(i.id for i in snapshot.items), f"{ISSUES}5000"})
    live = LiveItems(TEAM.name, "demo", (ISSUES,), ids)

    assert replay(snapshot, [Page(live_items=live)]) is None
    assert replay(snapshot, [Page(live_items=replace(live, ids=ids - {f"{ISSUES}5000"}))])


def test_the_cache_drops_the_least_recently_used_team_past_its_bound(runtime) -> None:
    snapshot = fresh(runtime)
    other = replace(snapshot, team="other")
    cache = SnapshotCache(runtime.engine, SyncJournal(), records=snapshot_records(snapshot) + 1)

    cache.get("payments", {}, lambda: snapshot)
    cache.get("other", {}, lambda: other)
    assert cache.get("other", {}, lambda: other) is other
    assert cache.loads == 2
    cache.get("payments", {}, lambda: snapshot)
    assert cache.loads == 3, "payments was dropped when other came in"


def test_a_journal_nobody_follows_keeps_nothing(runtime) -> None:
    journal = SyncJournal()
    recorder = journal.recorder(runtime.engine, TEAM.name, "payments/demo")
    recorder.begin()
    recorder.add(Page([history(fresh(runtime), f"{ISSUES}1")]), WriteCounts())
    journal.record(recorder, NOW)

    assert recorder.pages is None
    assert journal.since(runtime.engine, TEAM.name, 0) == ([], 0)


def test_a_journal_forgets_its_oldest_syncs_past_its_bound(runtime) -> None:
    journal = SyncJournal(records=2)
    journal.follow()
    snapshot = fresh(runtime)
    for number in (1, 2, 3):
        recorder = SyncRecorder(runtime.engine, TEAM.name, "payments/demo", limit=2, pages=[])
        recorder.add(Page([history(snapshot, f"{ISSUES}{number}")]), WriteCounts())
        journal.record(recorder, NOW)

    assert journal.since(runtime.engine, TEAM.name, 0) is None
    changes, position = journal.since(runtime.engine, TEAM.name, 1)
    assert [c.seq for c in changes] == [1, 2] and position == 3
    assert journal.since(runtime.engine, "other", 0) == ([], 3)
