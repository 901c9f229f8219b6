"""The noise budget: the alert backtest replays the detectors and counts what it would send."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from rich.console import Console

from bot.cli import cli
from bot.commands.alerts import print_backtest
from bot.config import load_config
from bot.slack.answering.answers import Answers
from bot.slack.answering.render_backtest import alert_estimate, backtest_policy
from bot.slack.delivering.alerts import AlertPolicy
from bot.sync import sync_teams
from bot.working_time import calendar_of
from insights.agreements import Agreements
from insights.backtest import (
    BUDGET,
    Backtest,
    BacktestPolicy,
    DetectorTotals,
    Replay,
    levers,
    simulate,
)
from insights.detectors import detector_names
from insights.findings import Severity
from insights.model import Snapshot
from insights.working_time import WEEKDAYS, WorkCalendar
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW
from tests.detector_fixtures import SnapshotBuilder

EVERY_DAY = WorkCalendar(UTC, days=WEEKDAYS)
"""09:00-18:00 UTC seven days a week: nine runs a day, today's until NOW (16:00)."""
DEMO_TEAM = load_config(DEMO_CONFIG, env={}).teams[0]


def november(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def only(*names: str) -> set[str]:
    """Mutes for every detector but ``names``."""
    return set(detector_names()) - set(names)


def replay(snapshot: Snapshot, days: int, *detectors: str) -> Replay:
    return Replay(snapshot, Agreements(), EVERY_DAY, NOW, days, muted=only(*detectors))


def new_cards(result: Backtest) -> dict[date, int]:
    return {row.day: row.new_cards for row in result.rows if row.new_cards}


def aging_team() -> Snapshot:
    """Seven finished items (2 to 8 days each) and PAY-1, in progress since 17 November."""
    builder = SnapshotBuilder()
    for n, cycle_days in enumerate([2, 3, 4, 5, 6, 7, 8]):
        builder.finished(f"OLD-{n}", datetime(2026, 10, 1 + 2 * n, 10, tzinfo=UTC), cycle_days)
    builder.issue("PAY-1", ("In Progress", november(17, 10)))
    return builder.build()


def test_an_item_that_becomes_aging_gives_one_card_on_that_day_only() -> None:
    result = simulate(replay(aging_team(), 4, "aging_item"), BacktestPolicy())

    assert [row.day for row in result.rows] == [date(2026, 11, d) for d in (22, 23, 24, 25)]
    assert new_cards(result) == {date(2026, 11, 24): 1}  # day 3; still aging on day 4
    assert result.rows[2].by_detector["aging_item"].cards == 1
    assert result.rows[2].mentions == 1  # its assignee
    assert result.cold_start == 0 and result.missed == ()
    assert result.runs == 9 * 3 + 8  # hourly from 09:00; today's until 16:00


def test_two_detectors_on_one_item_give_one_card() -> None:
    both = replay(aging_team(), 7, "aging_item", "stale_item")

    result = simulate(both, BacktestPolicy())

    assert [(f.subject, sorted(r.detector for r in f.reasons)) for f in both.subjects(NOW)] == [
        ("PAY-1", ["aging_item", "stale_item"])
    ]
    assert new_cards(result) == {date(2026, 11, 22): 1}  # stale first; aging joins it later
    assert [(t.detector, t.cards, t.items) for t in result.detectors] == [("stale_item", 1, 1)]


def test_the_first_day_starts_warm_and_the_cold_start_is_counted_apart() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-7", ("In Progress", november(10, 9, 30)))

    result = simulate(replay(builder.build(), 3, "stale_item"), BacktestPolicy())

    assert result.cold_start == 1  # stale since the 15th: its card was posted before the window
    assert new_cards(result) == {}


def returning_item() -> Snapshot:
    """PAY-7: stale until it moves on the 18th at 12:30, stale again five days later."""
    builder = SnapshotBuilder()
    builder.issue(
        "PAY-7", ("In Progress", november(10, 9, 30)), ("Code Review", november(18, 12, 30))
    )
    return builder.build()


def test_a_subject_back_within_the_cooldown_reopens_its_card() -> None:
    week = BacktestPolicy(cooldown=timedelta(days=7))

    result = simulate(replay(returning_item(), 10, "stale_item"), week)

    assert [(row.day, row.resolved) for row in result.rows if row.resolved] == [
        (date(2026, 11, 18), 1)
    ]
    assert [(row.day, row.reopened) for row in result.rows if row.reopened] == [
        (date(2026, 11, 23), 1)
    ]
    assert new_cards(result) == {}
    assert result.detectors[0].reopened == 1 and result.detectors[0].cards == 0


def test_a_subject_back_after_the_cooldown_gets_a_new_card() -> None:
    result = simulate(replay(returning_item(), 10, "stale_item"), BacktestPolicy())

    assert new_cards(result) == {date(2026, 11, 23): 1}
    assert all(row.reopened == 0 for row in result.rows)


def four_go_stale_at_once() -> Snapshot:
    builder = SnapshotBuilder()
    for n in range(4):
        builder.issue(f"PAY-{n}", ("In Progress", november(13, 9, 30)))
    return builder.build()


def test_the_daily_cap_turns_the_surplus_into_overflow_posted_the_next_day() -> None:
    result = simulate(
        replay(four_go_stale_at_once(), 10, "stale_item"), BacktestPolicy(daily_cap=3)
    )

    assert new_cards(result) == {date(2026, 11, 18): 3, date(2026, 11, 19): 1}
    assert [(row.day, row.overflow) for row in result.rows if row.overflow] == [
        (date(2026, 11, 18), 1)
    ]
    assert result.max_new_cards == 3 and result.within(3)
    assert result.missed == ()


def test_severity_below_the_minimum_is_missed_and_levers_are_ranked() -> None:
    stale = replay(four_go_stale_at_once(), 10, "stale_item")

    critical = simulate(stale, BacktestPolicy(min_severity=Severity.CRITICAL))
    tried = levers(stale, BacktestPolicy(), budget=2)

    assert new_cards(critical) == {}  # 5 to 13 days quiet: warn, never critical (15 days)
    assert critical.missed == ("PAY-0", "PAY-1", "PAY-2", "PAY-3")
    assert [(lever.label, lever.result.within(2)) for lever in tried] == [
        ("daily cap 2", True),  # within, and nothing missed: first
        ("min severity critical", True),
    ]
    assert tried[0].result.missed == ()


def test_working_days_only_skips_the_weekend() -> None:
    weekdays = WorkCalendar(UTC)
    result = simulate(
        Replay(four_go_stale_at_once(), Agreements(), weekdays, NOW, 10), BacktestPolicy()
    )

    assert [row.day.isoformat() for row in result.rows] == [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
    ]


# --- the command line and the Slack estimate, on the demo team ---


def run(runtime, *args: str):
    db = str(runtime.engine.url)
    return CliRunner().invoke(
        cli,
        ["--config", str(DEMO_CONFIG), "--database", db, *args],
        obj=lambda: NOW,
        env={"COLUMNS": "160"},
    )


def test_cli_prints_per_detector_rows_and_the_budget_verdict(demo_runtime) -> None:
    sync_teams(demo_runtime)

    text = run(demo_runtime, "alerts", "backtest", "--days", "14")
    data = json.loads(run(demo_runtime, "alerts", "backtest", "--days", "14", "--json").output)

    assert text.exit_code == 0, text.output
    assert data["team"] == "payments" and data["channel"] == "#payments-flow"
    assert data["last_day"] == "2026-11-25"
    assert data["policy"]["daily_cap"] == AlertPolicy().daily_cap
    assert data["detectors"], "the demo team has findings to replay"
    for detector in data["detectors"]:
        assert detector["detector"] in text.output
    assert f"{len(data['days'])} working days" in text.output
    verdict = "Within the budget" if data["within_budget"] else "Over the budget"
    assert verdict in text.output
    assert data["within_budget"] == (data["new_cards_per_day_max"] <= BUDGET)
    assert sum(d["new_cards"] for d in data["days"]) == sum(t["cards"] for t in data["detectors"])


def test_cli_options_try_other_values(demo_runtime) -> None:
    sync_teams(demo_runtime)

    capped = run(demo_runtime, "alerts", "backtest", "--days", "7", "--daily-cap", "3", "--json")
    critical = run(
        demo_runtime, "alerts", "backtest", "--days", "7", "--min-severity", "critical", "--json"
    )
    bad = run(demo_runtime, "alerts", "backtest", "--min-severity", "info")

    assert capped.exit_code == 0, capped.output
    data = json.loads(capped.output)
    assert data["policy"]["daily_cap"] == 3 and data["within_budget"] is True
    assert data["new_cards_per_day_max"] <= 3
    assert json.loads(critical.output)["policy"]["min_severity"] == "critical"
    assert bad.exit_code == 2


def test_the_terminal_output_escapes_vendor_text() -> None:
    console = Console(record=True, width=200)
    hostile = "[bold]PAY-1[/]"
    totals = DetectorTotals("aging_item", 1, 0, 1, 1, 1, 1.0, 1.0)
    result = Backtest(
        "payments", BacktestPolicy(), NOW.date(), NOW.date(), 9, 0, [], [totals], (hostile,)
    )

    print_backtest(console, DEMO_TEAM, result, [], [])

    assert hostile in console.export_text()


def test_the_slack_estimate_gives_the_figures_and_the_cheapest_lever(demo_runtime) -> None:
    sync_teams(demo_runtime)
    answers = Answers(demo_runtime.engine)
    policy = AlertPolicy(daily_cap=BUDGET * 4)
    snapshot = load_snapshot(demo_runtime.engine, DEMO_TEAM.name, list(DEMO_TEAM.workflow))
    expected = simulate(
        Replay(snapshot, DEMO_TEAM.agreements, calendar_of(DEMO_TEAM), NOW, 10),
        backtest_policy(policy),
    )

    message = alert_estimate(answers, DEMO_TEAM, NOW, policy, days=10)

    blocks = json.dumps(message.as_kwargs()["blocks"])
    assert message.text.startswith("With the current settings, the last 10 days would have sent")
    assert f"{expected.mean_new_cards:.1f} new cards a day (max {expected.max_new_cards})" in blocks
    assert expected.detectors[0].detector.replace("_", " ") in blocks
    assert ("Cheapest lever" in blocks) == (not expected.within(BUDGET))
    assert "daily cap 20" in blocks


def test_the_slack_estimate_without_working_days_says_so(demo_runtime) -> None:
    team = DEMO_TEAM.model_copy(
        update={"working_hours": DEMO_TEAM.working_hours.model_copy(update={"days": ()})}
    )

    message = alert_estimate(Answers(demo_runtime.engine), team, NOW, AlertPolicy(), days=3)

    assert "No working day in the last 3 days" in message.text


def test_the_default_configuration_sends_at_most_five_new_cards_per_channel_per_day(
    demo_runtime,
) -> None:
    """The noise budget the README promises, measured on the demo team over 30 days."""
    sync_teams(demo_runtime)

    data = json.loads(run(demo_runtime, "alerts", "backtest", "--days", "30", "--json").output)

    assert data["days"], "the demo team has working days to replay"
    assert max(d["new_cards"] for d in data["days"]) <= BUDGET == 5
    assert data["within_budget"] is True
