"""Waits between teams (insights.cross_team): both teams' findings, both traces, both channels.

Team payments (project PAY) has items blocked by items of team core (project CORE). The
``cross_team_wait`` detector tells payments that PAY-12 waits on CORE-7 of team core, and tells
core, from payments' snapshot, that CORE-7 blocks PAY-12; both traces show the link; against the
fake Slack each team's alert sweep posts its card in its own channel and resolves it when the
blocker is done.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import SlackConfig, load_config
from bot.runtime import open_runtime
from bot.slack.answering.render_trace import render_trace
from bot.slack.delivering.jobs import alert_team
from bot.slack.deps import build_deps
from insights.agreements import Agreements
from insights.cross_team import blocking_finding, blocking_others, cross_team_waits
from insights.detectors import cross_team_wait, run_detectors
from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import MAX_ITEM_FINDINGS
from insights.findings import ASSIGNEE, REVIEWER, Finding, Severity
from insights.model import (
    ItemHistory,
    ItemKind,
    Page,
    ReviewState,
    Snapshot,
    Transition,
    WorkItem,
)
from insights.subjects import merge_by_subject
from insights.trace import BlockedItem, BlockingItem, trace_item
from insights.value_stream import StreamStep
from storage.alert_messages import load_alerts
from storage.health import record_health
from storage.pages import save_page
from tests.detector_fixtures import NOW, WORKFLOW, SnapshotBuilder, ago
from tests.fake_slack import BOT_TOKEN, FakeSlack

TEAMS = {"PAY": "payments", "CORE": "core"}
STEPS = (StreamStep("In progress", "status:In Progress", "done"),)
PAYMENTS_CHANNEL, CORE_CHANNEL = "C0PAYMENTS", "C0CORETEAM"


def as_team(snapshot: Snapshot, team: str, assignee: str | None = None) -> Snapshot:
    """``snapshot`` as team ``team``'s (the builder makes payments' items), reassigned."""
    items = [
        dataclasses.replace(i, team=team, assignee=assignee or i.assignee) for i in snapshot.items
    ]
    return dataclasses.replace(snapshot, team=team, items=items)


def payments(*blockers: tuple[str, str, float]) -> Snapshot:
    """Payments' items: (key, blocked by, days in progress) each, plus ones no wait is found for.

    PAY-2 is blocked by its own team's PAY-1, PAY-3 by a key of no configured team, PAY-4 (in the
    backlog) by CORE-7.
    """
    builder = SnapshotBuilder()
    for key, blocker, days in blockers:
        builder.issue(key, ("In Progress", ago(days=days)), blocked_by=[blocker])
    builder.issue("PAY-1", ("In Progress", ago(days=4)))
    builder.issue("PAY-2", ("In Progress", ago(days=4)), blocked_by=["PAY-1"])
    builder.issue("PAY-3", ("In Progress", ago(days=4)), blocked_by=["OPS-3"])
    builder.issue(
        "PAY-4", ("Selected", ago(days=4)), ("Backlog", ago(days=3)), blocked_by=["CORE-7"]
    )
    return builder.build()


def core(*, cancel_8_at_days_ago: float = 2) -> Snapshot:
    """Core's items: CORE-7 in progress (Chen's), CORE-8 cancelled (resolved then)."""
    builder = SnapshotBuilder()
    builder.issue("CORE-7", ("In Progress", ago(days=5)))
    builder.issue(
        "CORE-8", ("In Progress", ago(days=6)), ("Won't Do", ago(days=cancel_8_at_days_ago))
    )
    return as_team(builder.build(), "core", assignee="Chen Wu")


def waiting_findings(pay: Snapshot, others: dict[str, Snapshot], now=NOW) -> list[Finding]:
    ctx = DetectionContext(pay, Agreements(), now, UTC, teams_by_project=TEAMS, others=others)
    return cross_team_wait.detect(ctx)


def test_an_item_blocked_by_another_teams_item_is_named_with_both_and_that_team() -> None:
    pay = payments(("PAY-12", "CORE-7", 3))

    (finding,) = waiting_findings(pay, {"core": core()})

    assert finding.detector == "cross_team_wait" and finding.subject == "PAY-12"
    assert finding.title == "PAY-12 waits on CORE-7 (team core) since Sun 22 Nov"
    assert finding.severity is Severity.WARN  # 72 hours, past the agreed 48
    assert finding.evidence["blocking_key"] == "CORE-7"
    assert finding.evidence["blocking_team"] == "core"
    assert finding.evidence["blocking_status"] == "In Progress"
    assert finding.evidence["waiting_days"] == 3.0
    assert (finding.people, finding.role) == (("ana",), ASSIGNEE)
    assert finding.item_keys == ("PAY-12", "CORE-7")
    assert "team core" in finding.action and "CORE-7" in finding.action


@pytest.mark.parametrize(
    ("days", "severity"), [(1, Severity.INFO), (3, Severity.WARN), (7, Severity.CRITICAL)]
)
def test_severity_is_info_before_the_agreed_hours_warn_past_them_critical_past_three_times(
    days: float, severity: Severity
) -> None:
    (finding,) = waiting_findings(payments(("PAY-12", "core-7", days)), {"core": core()})

    assert finding.severity is severity
    assert finding.evidence["blocking_key"] == "CORE-7", "the key as the blocking team has it"


def test_own_team_unknown_projects_and_items_not_in_progress_are_not_cross_team_waits() -> None:
    assert waiting_findings(payments(), {"core": core()}) == []
    assert waiting_findings(payments(("PAY-12", "CORE-7", 3)), {}) != [], "without core's data"
    ctx = DetectionContext(payments(("PAY-12", "CORE-7", 3)), Agreements(), NOW, UTC)
    assert cross_team_wait.detect(ctx) == [], "no project map: no team to name"


def test_a_blocker_done_by_now_ends_the_wait_and_one_done_later_did_not_yet() -> None:
    pay = payments(("PAY-12", "CORE-8", 3))

    assert waiting_findings(pay, {"core": core()}) == []
    (before,) = waiting_findings(pay, {"core": core()}, now=ago(days=2.5))
    assert before.evidence["waiting_days"] == 0.5
    (unknown,) = waiting_findings(payments(("PAY-12", "CORE-99", 3)), {"core": core()})
    assert unknown.evidence["blocking_status"] == "unknown", "not in core's data: still waiting"


def test_blocked_item_reads_another_teams_blocker_in_that_teams_data() -> None:
    pay = payments(("PAY-12", "CORE-8", 3))
    ours = run_detectors(pay, Agreements(), NOW, UTC, teams_by_project=TEAMS)
    theirs = run_detectors(
        pay, Agreements(), NOW, UTC, teams_by_project=TEAMS, others={"core": core()}
    )

    assert "PAY-12" in {f.subject for f in ours if f.detector == "blocked_item"}
    assert "PAY-12" not in {f.subject for f in theirs if f.detector == "blocked_item"}


def test_the_blocking_team_hears_of_each_item_its_item_blocks_as_one_subject() -> None:
    pay = payments(("PAY-12", "CORE-7", 3), ("PAY-17", "CORE-7", 1), ("PAY-18", "CORE-8", 3))
    mine = core()

    waits = blocking_others(mine, {"payments": pay}, TEAMS, NOW)
    found = [blocking_finding(wait, Agreements(), UTC) for wait in waits]

    assert [(w.item.key, w.blocking_key, w.team) for w in waits] == [
        ("PAY-12", "CORE-7", "payments"),
        ("PAY-17", "CORE-7", "payments"),
    ], "PAY-18 waits on CORE-8, cancelled: no more"
    assert [f.title for f in found] == [
        "CORE-7 blocks PAY-12 (team payments) since Sun 22 Nov",
        "CORE-7 blocks PAY-17 (team payments) since Tue 24 Nov",
    ]
    assert [f.severity for f in found] == [Severity.WARN, Severity.INFO]
    assert all(f.people == ("Chen Wu",) and f.subject == "CORE-7" for f in found)
    assert len({f.dedupe_key for f in found}) == 2
    assert found[0].evidence["waiting_team"] == "payments"
    detected = run_detectors(
        mine, Agreements(), NOW, UTC, teams_by_project=TEAMS, others={"payments": pay}
    )
    (subject,) = [s for s in merge_by_subject(detected, mine, "core") if s.subject == "CORE-7"]
    assert subject.severity is Severity.WARN and subject.title.startswith("CORE-7 blocks PAY-12")
    assert {r.dedupe_key for r in subject.reasons} == {f.dedupe_key for f in found}


def test_many_waits_are_reported_worst_first_and_the_rest_rolled_up() -> None:
    many = [(f"PAY-{100 + n}", "CORE-7", 3 + n / 10) for n in range(MAX_ITEM_FINDINGS + 3)]

    found = waiting_findings(payments(*many), {"core": core()})

    *items, rest = found
    assert len(items) == MAX_ITEM_FINDINGS and items[0].subject == f"PAY-{100 + 52}"
    assert rest.subject == "team" and rest.evidence["items"] == 3
    assert set(rest.item_keys) == {"PAY-100", "PAY-101", "PAY-102"}


def test_waits_are_read_as_of_now_from_each_items_history() -> None:
    pay = payments(("PAY-12", "CORE-7", 3))

    assert [w.item.key for w in cross_team_waits(pay, TEAMS, {}, NOW)] == ["PAY-12"]
    (then,) = cross_team_waits(pay, TEAMS, {}, ago(days=3.5))  # PAY-12 not started yet
    assert (then.item.key, then.since) == ("PAY-4", ago(days=4)), "PAY-4 was Selected then"


def test_both_traces_show_the_wait() -> None:
    pay, mine = payments(("PAY-12", "CORE-7", 3)), core()

    waiting = trace_item(pay, "PAY-12", STEPS, NOW, teams_by_project=TEAMS, others={"core": mine})
    blocking = trace_item(
        mine, "CORE-7", STEPS, NOW, teams_by_project=TEAMS, others={"payments": pay}
    )

    assert waiting is not None and blocking is not None
    (blocker,) = waiting.blocked_by
    assert (blocker.key, blocker.team, blocker.status) == ("CORE-7", "core", "In Progress")
    assert blocker.url == "https://tracker.invalid/browse/CORE-7"
    assert blocking.blocks == (
        BlockedItem("PAY-12", "payments", "In Progress", "https://tracker.invalid/browse/PAY-12"),
        BlockedItem("PAY-4", "payments", "Backlog", "https://tracker.invalid/browse/PAY-4"),
    )
    text = str(render_trace(blocking).as_kwargs())
    assert "Blocks: <https://tracker.invalid/browse/PAY-12|PAY-12> (team *payments*" in text
    assert trace_item(mine, "CORE-7", STEPS, NOW, teams_by_project=TEAMS).blocks == ()


def test_a_blocked_items_vendor_words_are_escaped_in_the_trace() -> None:
    pay = payments(("PAY-12", "CORE-7", 3))
    hostile = [
        dataclasses.replace(i, status="<!channel> *x*", url="javascript:alert(1)")
        if i.key == "PAY-12"
        else i
        for i in pay.items
    ]
    pay = dataclasses.replace(pay, items=hostile)
    blocking = trace_item(
        core(), "CORE-7", STEPS, NOW, teams_by_project=TEAMS, others={"payments": pay}
    )
    assert blocking is not None

    text = str(render_trace(blocking).as_kwargs())

    assert "<!channel>" not in text and "javascript:" not in text
    assert "&lt;!channel&gt;" in text


# --- pull requests waiting for review in another team's repository ---------------------------


def linked_pr(
    builder: SnapshotBuilder, number: int, linked: tuple[str, ...], *reviews, **fields
) -> WorkItem:
    """A pull request ``acme/api#number`` linked to ``linked``, opened 2 days ago."""
    pr = dataclasses.replace(
        builder.pr(number, ago(days=2), *reviews, **fields), team="core", linked_keys=linked
    )
    builder.items[-1] = pr
    return pr


def core_repository(*extra: tuple[int, tuple[str, ...], tuple]) -> tuple[Snapshot, WorkItem]:
    """Core's snapshot with acme/api#7 for PAY-1, waiting 2 days on Chen's review; ``extra`` PRs.

    Each extra pull request is (number, linked keys, review events).
    """
    builder = SnapshotBuilder()
    builder.issue("CORE-7", ("In Progress", ago(days=5)))
    pr = linked_pr(builder, 7, ("pay-1",), (ago(days=2), ReviewState.REQUESTED, "chen"))
    for number, linked, reviews in extra:
        linked_pr(builder, number, linked, *reviews)
    return as_team(builder.build(), "core"), pr


def core_findings(
    core_snapshot: Snapshot, pay: Snapshot, agreements: Agreements | None = None
) -> list[Finding]:
    ctx = DetectionContext(
        core_snapshot,
        agreements or Agreements(),
        NOW,
        UTC,
        teams_by_project=TEAMS,
        others={"payments": pay},
    )
    return cross_team_wait.detect(ctx)


def test_a_pull_request_waiting_for_review_in_another_teams_repository_is_named_on_both_sides():
    core_snapshot, pr = core_repository()
    pay = payments()

    (waiting,) = waiting_findings(pay, {"core": core_snapshot})
    (blocking,) = core_findings(core_snapshot, pay)

    assert waiting.title == "PAY-1 waits on review of acme/api#7 (team core) for 2 days"
    assert waiting.subject == "PAY-1" and waiting.item_keys == ("PAY-1", "acme/api#7")
    assert (waiting.people, waiting.role) == (("ana",), ASSIGNEE)
    assert waiting.evidence["blocking_key"] == "acme/api#7"
    assert waiting.evidence["blocking_team"] == "core"
    assert waiting.evidence["requested_reviewers"] == "chen"
    assert "team core" in waiting.action and "chen asked" in waiting.action
    assert blocking.title == "acme/api#7 (for PAY-1, team payments) waits for review for 2 days"
    assert blocking.subject == "acme/api#7" and blocking.url == pr.url
    assert (blocking.people, blocking.role) == (("chen",), REVIEWER)
    assert blocking.evidence["waiting_key"] == "PAY-1"
    assert blocking.evidence["waiting_team"] == "payments"
    assert waiting.severity is blocking.severity is Severity.WARN  # 48 hours, past the agreed 24
    keys = {waiting.dedupe_key, blocking.dedupe_key}
    assert keys == {
        "cross_team_wait:payments:PAY-1:review:acme/api#7",
        "cross_team_wait:core:review:acme/api#7:PAY-1",
    }, "apart from the blocked-by keys (PAY-12:CORE-7, blocks:CORE-7:PAY-12)"
    relaxed = Agreements(review_within_hours=72)
    (lenient,) = core_findings(core_snapshot, pay, relaxed)
    assert lenient.severity is Severity.INFO, "each side by its own review_within_hours"
    detected = run_detectors(
        core_snapshot, Agreements(), NOW, UTC, teams_by_project=TEAMS, others={"payments": pay}
    )
    merged = [s for s in merge_by_subject(detected, core_snapshot, "core") if s.subject == pr.key]
    assert [s.title for s in merged] == [blocking.title]


def test_a_review_wait_counts_only_an_open_pull_request_of_another_team_still_unreviewed() -> None:
    asked = (ago(days=2), ReviewState.REQUESTED, "chen")
    reviewed = (ago(days=1), ReviewState.APPROVED, "chen")
    core_snapshot, pr = core_repository(
        (8, ("PAY-1",), (asked, reviewed)),  # reviewed since it asked
        (9, ("PAY-4",), (asked,)),  # PAY-4 is in the backlog
        (10, ("CORE-7",), (asked,)),  # core's own item
    )
    builder = SnapshotBuilder()
    linked_pr(builder, 11, ("PAY-1",), asked, author="renovate[bot]")
    linked_pr(builder, 12, ("PAY-1",), asked, draft=True)
    linked_pr(builder, 13, ("PAY-1",), asked, merged=ago(hours=3))
    ignored = as_team(builder.build(), "core")
    core_snapshot = dataclasses.replace(
        core_snapshot,
        items=[*core_snapshot.items, *ignored.items],
        reviews=ignored.reviews | core_snapshot.reviews,
    )
    pay = payments()

    assert [w.blocking_key for w in cross_team_waits(pay, TEAMS, {"core": core_snapshot}, NOW)] == [
        "acme/api#7"
    ]
    own = dataclasses.replace(pay, items=[*pay.items, pr])  # payments syncs the repository too
    assert cross_team_waits(own, TEAMS, {"core": core_snapshot}, NOW) == []
    alone = dataclasses.replace(pay, items=[*pay.items, pr], reviews=core_snapshot.reviews)
    assert waiting_findings(alone, {}) == [], "its own repository: pr_waiting_review's"
    assert core_findings(core_snapshot, own) == []


def test_a_re_requested_review_waits_again_and_no_reviewer_asked_names_no_one() -> None:
    rereview = (
        (ago(days=3), ReviewState.REQUESTED, "chen"),
        (ago(days=2.5), ReviewState.CHANGES_REQUESTED, "chen"),
        (ago(hours=30), ReviewState.REQUESTED, "chen"),
    )
    builder = SnapshotBuilder()
    linked_pr(builder, 7, ("PAY-1",), *rereview)
    linked_pr(builder, 8, ("PAY-1",))
    core_snapshot = as_team(builder.build(), "core")

    found = {f.subject: f for f in core_findings(core_snapshot, payments())}

    assert found["acme/api#7"].evidence["waiting_days"] == 1.2, "from the request again"
    assert found["acme/api#7"].people == ("chen",)
    assert (found["acme/api#8"].people, found["acme/api#8"].role) == ((), "")
    assert found["acme/api#8"].action.startswith("Ask someone of the team by name")


def test_the_waiting_items_trace_shows_the_pull_request_it_waits_on() -> None:
    core_snapshot, pr = core_repository()

    trace = trace_item(
        payments(), "PAY-1", STEPS, NOW, teams_by_project=TEAMS, others={"core": core_snapshot}
    )

    assert trace is not None
    assert trace.blocked_by == (BlockingItem(pr.key, "core", "waiting for review", pr.url),)
    text = str(render_trace(trace).as_kwargs())
    assert "acme/api#7" in text and "team *core*, waiting for review" in text


# --- two configured teams: the CLI, and both channels against the fake Slack -----------------


def issue(team: str, key: str, moves: list[tuple[str, float]], **fields) -> ItemHistory:
    """A stored issue of ``team`` making ``moves`` (status, days before NOW) from the backlog."""
    item_id = f"test:issue:{key}"
    transitions, previous = [], "Backlog"
    for status, days in moves:
        transitions.append(
            Transition(
                item_id, ago(days=days), previous, status, WORKFLOW[previous], WORKFLOW[status]
            )
        )
        previous = status
    stage = WORKFLOW[previous]
    item = WorkItem(
        id=item_id,
        team=team,
        source="test",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Work on {key}",
        status=previous,
        stage=stage,
        created_at=ago(days=10),
        updated_at=transitions[-1].at,
        resolved_at=transitions[-1].at if stage.finished else None,
        url=f"https://tracker.invalid/browse/{key}",
        **fields,
    )
    return ItemHistory(item, tuple(transitions))


APP_YAML = """
timezone: UTC
teams:
  - name: payments
    channel: "#payments-flow"
    projects: [PAY]
    workflow: &workflow
      Backlog: backlog
      Selected: waiting
      In Progress: active
      Done: done
      Won't Do: cancelled
  - name: core
    channel: "#core-flow"
    projects: [CORE]
    workflow: *workflow
"""


class TwoTeams:
    """Payments and core configured in an app.yaml, with a database to store their items in."""

    def __init__(self, folder: Path) -> None:
        self.config_path = folder / "app.yaml"
        self.config_path.write_text(APP_YAML)
        self.database = f"sqlite:///{folder / 'vsm.db'}"
        self.config = load_config(self.config_path, env={})
        self.now = NOW
        self.runtime = open_runtime(self.config, database=self.database, clock=lambda: self.now)

    def store(self, team: str, *histories: ItemHistory) -> None:
        """Store ``histories`` as a sync of ``team``'s source at :attr:`now` would."""
        engine = self.runtime.engine
        save_page(engine, f"{team}/test", Page(histories), self.now)
        record_health(engine, source_key=f"{team}/test", team=team, source="test", now=self.now)

    def vsm(self, *args: str) -> Any:
        """Run the CLI on this config and database at :data:`NOW`."""
        options = ["--config", str(self.config_path), "--database", self.database]
        return CliRunner().invoke(cli, [*options, *args], obj=lambda: NOW)


@pytest.fixture
def two_teams(tmp_path) -> Iterator[TwoTeams]:
    teams = TwoTeams(tmp_path)
    pay_12 = issue("payments", "PAY-12", [("In Progress", 3)], blocked_by=("CORE-7",))
    teams.store("payments", pay_12)
    teams.store("core", issue("core", "CORE-7", [("In Progress", 5)], assignee="Chen Wu"))
    yield teams
    teams.runtime.engine.dispose()


@pytest.fixture
def fake():
    with FakeSlack() as slack:
        slack.add_channel(PAYMENTS_CHANNEL, "payments-flow")
        slack.add_channel(CORE_CHANNEL, "core-flow")
        yield slack


def test_the_cli_report_and_trace_read_the_other_teams_data(two_teams: TwoTeams) -> None:
    report = two_teams.vsm("report", "--team", "payments", "--json")
    trace = two_teams.vsm("trace", "CORE-7", "--team", "core", "--json")

    assert report.exit_code == 0 and trace.exit_code == 0, report.output + trace.output
    waits = [f for f in json.loads(report.output)["findings"] if f["detector"] == "cross_team_wait"]
    assert [f["title"] for f in waits] == ["PAY-12 waits on CORE-7 (team core) since Sun 22 Nov"]
    assert waits[0]["evidence"]["blocking_status"] == "In Progress", "read in core's data"
    assert json.loads(trace.output)["blocks"] == [
        {
            "key": "PAY-12",
            "team": "payments",
            "status": "In Progress",
            "url": "https://tracker.invalid/browse/PAY-12",
        }
    ]


def test_a_wait_between_teams_gets_a_card_in_both_channels_and_both_resolve(
    two_teams: TwoTeams, fake
) -> None:
    slack = SlackConfig(bot_token=BOT_TOKEN, api_url=fake.api_url)
    two_teams.runtime.config = two_teams.config.model_copy(update={"slack": slack})
    teams = two_teams.runtime.config.teams
    engine = two_teams.runtime.engine
    deps = build_deps(two_teams.runtime)
    try:
        for team in teams:
            alert_team(deps, team)

        (waiting,) = load_alerts(engine, "payments", PAYMENTS_CHANNEL)
        (blocking,) = load_alerts(engine, "core", CORE_CHANNEL)
        assert waiting.finding["subject"] == "PAY-12" and blocking.finding["subject"] == "CORE-7"
        assert "cross_team_wait" in waiting.finding["evidence"]["detectors"]
        posts = {c.params["channel"]: c.block_text for c in fake.calls_to("chat.postMessage")}
        assert "PAY-12" in posts[PAYMENTS_CHANNEL]
        assert "CORE-7 (team core)" in posts[PAYMENTS_CHANNEL]
        assert "CORE-7" in posts[CORE_CHANNEL]
        assert "blocks PAY-12 (team payments)" in posts[CORE_CHANNEL]
        assert "Chen Wu" in posts[CORE_CHANNEL], "who: the blocking item's assignee"

        two_teams.now = NOW + timedelta(hours=1)
        two_teams.store("core", issue("core", "CORE-7", [("In Progress", 5), ("Done", -1 / 24)]))
        for team in teams:
            alert_team(deps, team)

        assert load_alerts(engine, "payments", PAYMENTS_CHANNEL)[0].state == "resolved"
        assert load_alerts(engine, "core", CORE_CHANNEL)[0].state == "resolved"
        top_level = [c for c in fake.calls_to("chat.postMessage") if not c.params.get("thread_ts")]
        assert len(top_level) == 2, "one card per channel, resolved in place"
    finally:
        deps.workers.shutdown(wait=True)
