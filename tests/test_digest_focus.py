"""The daily digest read in 30 seconds and the weekly of trends, on the demo team at a fixed now.

Daily: at most five focus items, each subject once, with a mention for a mapped person; what
changed since the last digest sent (new, resolved, still open); nothing posted when nothing is new
(unless the team turned that off). Weekly: every trend with its XmR verdict, no list of findings,
and the one bottleneck.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from bot.config import DigestSchedule, PersonConfig, TeamConfig
from bot.people import People
from bot.slack import ids
from bot.slack.answering.answers import Answers, subject_changes
from bot.slack.answering.render_alerts import ICONS
from bot.slack.answering.render_digest import FLOW_WINDOW_DAYS, verdict_text
from bot.slack.delivering.digests import build_digest_message, send_digest
from bot.sync import sync_teams
from bot.tracked_scopes import team_scopes
from insights.detectors import detector_names
from insights.findings import Finding, Severity
from insights.report import build_report
from insights.weekly_trends import WeeklyTrend, judge, weekly_trends
from storage.sends import SendKey, load_send
from storage.slack_settings import Mute, save_mute
from tests.conftest import NOW
from tests.slack_harness import TEAM_CHANNEL

FOCUS_KEY = re.compile(r"\*<[^|>]+\|([^>]+)>\*")
"""A focus line's linked, bold subject key."""
DANA = PersonConfig(name="Dana Ruiz", slack="U123", jira=("Dana Ruiz",))


@pytest.fixture
def answers(demo_runtime) -> Answers:
    sync_teams(demo_runtime)
    return Answers(demo_runtime.engine)


@pytest.fixture
def team(demo_runtime) -> TeamConfig:
    return demo_runtime.config.teams[0]


def texts(message) -> str:
    """Every text of the message's blocks, and its fallback, joined."""
    out = [message.text]

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk([b.to_dict() for b in message.blocks])
    return "\n".join(out)


def line_of(text: str, start: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(start)]
    return line


def subject_keys(findings: list[Finding]) -> set[str]:
    return {f.dedupe_key for f in findings}


def test_the_daily_names_at_most_five_focus_items_each_once(answers, team) -> None:
    message = build_digest_message(answers, team, "daily", NOW)

    assert message is not None
    shown = FOCUS_KEY.findall(texts(message))
    report = answers.report(team, NOW, window_days=FLOW_WINDOW_DAYS)
    items = [
        s for s in report.subjects if s.subject != "team" and s.severity.rank >= Severity.WARN.rank
    ]
    assert len(items) > 5, "the demo has more candidates than the digest shows"
    assert 0 < len(shown) <= 5
    assert len(set(shown)) == len(shown), "no subject twice"
    assert shown == [f.finding.subject for f in report.focus], "highest cost of delay first"


def test_a_focus_line_mentions_the_mapped_person_and_says_what_to_do(answers, team) -> None:
    report = answers.report(team, NOW, window_days=FLOW_WINDOW_DAYS)
    danas = [f.finding for f in report.focus if "Dana Ruiz" in f.finding.people]
    others = [f.finding for f in report.focus if "Dana Ruiz" not in f.finding.people]
    assert danas and others, "the demo's focus names Dana Ruiz and others"

    message = build_digest_message(answers, team, "daily", NOW, people=People((DANA,)))

    text = texts(message).replace("&amp;", "&")
    for finding in danas:
        line = line_of(text, f"{ICONS[finding.severity]} *<{finding.url}|{finding.subject}>*")
        assert "<@U123>" in line and finding.action in line
    for finding in others:
        line = line_of(text, f"{ICONS[finding.severity]} *<{finding.url}|{finding.subject}>*")
        assert "<@U123>" not in line and "not mapped to Slack" in line


def test_the_flow_line_compares_with_the_week_before_and_explains_itself(answers, team) -> None:
    message = build_digest_message(answers, team, "daily", NOW)

    now = answers.report(team, NOW, window_days=FLOW_WINDOW_DAYS).metrics
    before = answers.report(team, NOW - timedelta(days=7), window_days=FLOW_WINDOW_DAYS).metrics
    flow = line_of(texts(message), "*Flow, last 7 days:*")
    change = now["throughput_items"] - before["throughput_items"]
    arrow = "▲" if change > 0 else "▼"
    expected = "same as" if change == 0 else f"{arrow}{abs(change)} vs"
    assert f"Finished {now['throughput_items']} ({expected} the 7 days before)" in flow
    assert f"WIP {now['wip']} of limit 10" in flow
    menus = [b.to_dict()["accessory"] for b in message.blocks if "accessory" in b.to_dict()]
    values = [o["value"] for menu in menus for o in menu["options"]]
    assert all(menu["action_id"] == ids.EXPLAIN for menu in menus)
    assert values == [
        ids.explain_value(metric, "payments", 7)
        for metric in ("throughput_items", "wip", "cycle_time")
    ]


def test_subject_changes_compare_by_key() -> None:
    def finding(subject: str, detector: str = "item") -> Finding:
        key = f"{detector}:payments:{subject}"
        return Finding(detector, Severity.WARN, subject, "t", "a", key, {}, ())

    stays, cleared, appeared = finding("PAY-1"), finding("PAY-2"), finding("PAY-3")
    team_finding = finding("team", "net_flow")

    changes = subject_changes([stays, cleared], [appeared, stays, team_finding], NOW)

    assert subject_keys(changes.new) == subject_keys([appeared, team_finding])
    assert changes.resolved == [cleared]
    assert changes.still_open == [stays]


def test_since_the_last_digest_counts_from_the_last_one_sent(harness, fake) -> None:
    deps = harness.bot.deps
    team = harness.runtime.config.teams[0]
    poster = deps.poster(harness.bot.app.client)
    engine = harness.runtime.engine
    earlier = NOW - timedelta(days=2)  # none went out yesterday: the last one sent counts

    first = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", earlier)
    second = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW)

    assert (first, second) == ("sent", "sent")
    snapshot = deps.answers.snapshot(team)
    scopes = team_scopes(engine, team, snapshot)
    before = build_report(snapshot, team.agreements, earlier, team.zone, scopes=scopes).subjects
    after = build_report(snapshot, team.agreements, NOW, team.zone, scopes=scopes).subjects
    new = [f for f in after if f.dedupe_key not in subject_keys(before)]
    resolved = [f for f in before if f.dedupe_key not in subject_keys(after)]
    assert new and any(f.subject != "team" for f in resolved), "the demo changes over a day"
    text = fake.calls_to("chat.postMessage")[-1].block_text
    assert "2026-11-23 16:00 UTC" in line_of(text, "*Since the last digest*")
    assert line_of(text, "• New").startswith(f"• New ({len(new)})")
    resolved_line = line_of(text, "• Resolved")
    assert resolved_line.startswith(f"• Resolved ({len(resolved)})")
    for finding in resolved[:4]:
        if finding.subject != "team":
            assert f"|{finding.subject}>" in resolved_line
    still = len(after) - len(new)
    assert line_of(text, "• Still open").startswith(f"• Still open ({still})")


def _mute_all_but(engine, keep: str) -> None:
    for name in detector_names():
        if name != keep:
            save_mute(engine, Mute("payments", name, None, "U1", NOW - timedelta(days=30)))


def test_nothing_new_and_nothing_in_focus_is_skipped(harness, fake) -> None:
    deps = harness.bot.deps
    team = harness.runtime.config.teams[0]
    engine = harness.runtime.engine
    _mute_all_but(engine, "bottleneck")  # one team finding, open all along: no focus, no news
    poster = deps.poster(harness.bot.app.client)

    outcome = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW)

    assert [f.detector for f in deps.answers.subjects(team, NOW)] == ["bottleneck"]
    assert outcome == "skipped"
    assert fake.calls_to("chat.postMessage") == []
    record = load_send(engine, SendKey("payments", TEAM_CHANNEL, "digest_daily", "2026-11-25"))
    assert record is not None and record.state == "skipped"


def test_a_team_that_wants_the_daily_anyway_gets_it(harness, fake) -> None:
    deps = harness.bot.deps
    config = harness.runtime.config.teams[0]
    team = config.model_copy(update={"digest": DigestSchedule(skip_when_nothing_new=False)})
    engine = harness.runtime.engine
    _mute_all_but(engine, "bottleneck")
    poster = deps.poster(harness.bot.app.client)

    outcome = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW)

    assert outcome == "sent"
    text = fake.calls_to("chat.postMessage")[0].block_text
    assert "nothing at warn level or above" in text
    assert line_of(text, "• New").startswith("• New (0)")
    assert line_of(text, "• Still open").startswith("• Still open (1): bottleneck (Ready for QA)")


def test_the_weekly_shows_every_trend_with_a_verdict_and_no_findings(answers, team) -> None:
    message = build_digest_message(answers, team, "weekly", NOW)

    assert message is not None
    text = texts(message)
    fields = [f["text"] for b in message.blocks for f in (b.to_dict().get("fields") or [])]
    labels = [
        "Cycle time p85",
        "Throughput",
        "WIP (daily mean)",
        "Flow efficiency",
        "Deployments",
        "Lead time for changes",
        "Change failure rate",
    ]
    assert [f.splitlines()[0] for f in fields] == [f"*{label}*" for label in labels]
    for field in fields:
        assert re.search(r"\n(\*signal\*|noise)", field), field
        assert "vs last week" in field or "same as last week" in field
    for subject in answers.subjects(team, NOW):
        if subject.subject != "team":
            assert subject.subject not in text, "trends, not findings"
    bottleneck = next(f for f in answers.report(team, NOW).findings if f.detector == "bottleneck")
    assert "bottleneck to discuss at the retrospective" in text
    assert bottleneck.title in text.replace("&amp;", "&")


def test_the_weekly_falls_back_to_the_longest_queue(answers, team, demo_runtime) -> None:
    save_mute(demo_runtime.engine, Mute("payments", "bottleneck", None, "U1", NOW))

    message = build_digest_message(answers, team, "weekly", NOW)

    snapshot = answers.snapshot(team)
    waiting = [
        i.status
        for i in snapshot.issues()
        if i.stage.value in ("waiting", "blocked") and i.removed_at is None
    ]
    top = max(sorted(set(waiting)), key=waiting.count)
    assert f"Most items wait in {top} now ({waiting.count(top)})" in texts(message)


def test_the_weekly_throughput_is_the_reports_for_those_seven_days(answers, team) -> None:
    end = NOW.astimezone(team.zone).date()
    trends = {t.metric: t for t in weekly_trends(answers.snapshot(team), end, team.zone)}

    last_second = datetime.combine(end, datetime.min.time(), team.zone) - timedelta(seconds=1)
    report = build_report(answers.snapshot(team), team.agreements, last_second, team.zone, 7)
    assert trends["throughput_items"].current == report.metrics["throughput_items"]
    assert trends["throughput_items"].weeks[-1] == end - timedelta(days=7)
    assert len(trends["throughput_items"].values) == 12


def test_a_clear_jump_is_a_signal_and_routine_variation_noise() -> None:
    steady = [4.0, 5.0, 4.0, 6.0, 5.0, 4.0, 5.0, 6.0, 4.0, 5.0, 5.0]

    jump = judge([*steady, 15.0])
    usual = judge([*steady, 6.0])

    assert jump[0] == "signal" and jump[2] is not None and jump[2].rule == "outside_limits"
    assert usual[0] == "noise" and usual[2] is None
    assert judge([5.0, 6.0, 7.0])[0] == "too few weeks"
    assert judge([*steady, None])[0] == "no data"
    weeks = tuple(date(2026, 9, 7) + timedelta(weeks=n) for n in range(12))
    trend = WeeklyTrend(
        "throughput_items", "Throughput", "items", True, weeks, (*steady, 15.0), *jump
    )
    assert verdict_text(trend).startswith("*signal* (better): above the usual")


def test_the_weekly_says_where_the_time_goes_in_the_teams_value_stream(answers, team) -> None:
    message = build_digest_message(answers, team, "weekly", NOW)

    assert message is not None
    text = texts(message).replace("&amp;", "&")
    hotspot = next(f for f in answers.report(team, NOW).findings if f.detector == "value_stream")
    assert "Where the time goes" in text
    assert hotspot.title in text  # the demo's planted release train
    assert "for production" in hotspot.title


def test_a_muted_value_stream_detector_leaves_it_out_of_the_weekly(
    answers, team, demo_runtime
) -> None:
    save_mute(demo_runtime.engine, Mute(team.name, "value_stream", None, "U1", NOW))

    message = build_digest_message(answers, team, "weekly", NOW)

    assert message is not None
    assert "Where the time goes" not in texts(message)
