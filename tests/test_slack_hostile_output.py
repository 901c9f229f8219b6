"""No vendor string reaches Slack unescaped, in any field Slack reads: an audit of every post.

Work-item keys, titles, statuses and URLs come from Jira, GitHub, GitLab and PagerDuty, so they
are hostile: each alert path (single cards, groups, the daily cap's summary, escalations,
resolutions, buttons) and each digest is driven with such text, and every call the fake Slack
received is searched for a broad mention or a link Slack would act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.config import load_config
from bot.people import People
from bot.slack.answering.answers import SubjectChanges
from bot.slack.answering.render_digest import render_daily, render_weekly
from bot.slack.delivering.alerts import AlertPolicy, deliver_alerts
from bot.slack.delivering.client import make_client
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster
from insights.findings import Finding, Severity
from insights.forecast import ForecastBasis
from insights.model import Snapshot
from insights.report import build_report
from insights.subjects import FocusItem, merge_by_subject
from insights.weekly_trends import Queue, WeeklyTrend
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import TEAM_CHANNEL

TEAM = load_config(DEMO_CONFIG, env={}).teams[0]
INJECTED = ("<!channel>", "<!here>", "<https://evil.example|", "<@U0VICTIM>")


def hostile(n: int, severity: Severity = Severity.WARN, age: int = 6) -> Finding:
    key = f"PAY-{n}<!channel>"
    return Finding(
        detector="aging_item",
        severity=severity,
        subject=key,
        title=f"{key} has been in Review <!here> & <https://evil.example|QA> for {age} days",
        action="Ping <@U0VICTIM> about <!channel>",
        dedupe_key=f"aging_item:payments:{n}",
        evidence={"age_days": age, "status_<!here>": "<!channel>"},
        item_keys=(key,),
        url=f"https://jira.example/browse/PAY-{n}>|<!channel>",
        people=("<!channel> Bob", "<@U0VICTIM>"),
    )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def poster(fake: FakeSlack) -> Poster:
    client = make_client(fake.api_url, BOT_TOKEN, lambda seconds: None)
    return Poster(client, ChannelPacer(interval=0, sleep=lambda seconds: None))


def sent(fake: FakeSlack) -> list[str]:
    """Every message call's parameters as JSON (what Slack reads)."""
    calls = fake.calls_to("chat.postMessage") + fake.calls_to("chat.update")
    assert calls and all(c.reply["ok"] for c in calls), [c.reply for c in calls]
    return [json.dumps(c.params) for c in calls]


def injected(payloads: list[str]) -> list[str]:
    return [p for p in payloads if any(marker in p for marker in INJECTED)]


def test_every_alert_post_escapes_vendor_text(sqlite_engine, poster, fake) -> None:
    policy = AlertPolicy(daily_cap=3, group_above=2)

    def deliver(findings, at):
        deliver_alerts(
            sqlite_engine, poster, TEAM, TEAM_CHANNEL, findings, at, policy, people=People(())
        )

    deliver([hostile(1)], NOW)
    deliver([hostile(1, Severity.CRITICAL, age=9)], NOW + timedelta(minutes=5))
    deliver([hostile(n) for n in range(1, 5)], NOW + timedelta(minutes=10))
    deliver([hostile(n) for n in range(1, 9)], NOW + timedelta(minutes=15))
    deliver([], NOW + timedelta(minutes=20))

    payloads = sent(fake)
    assert len(payloads) > 8
    assert injected(payloads) == []


def test_both_digests_escape_vendor_text(poster, fake) -> None:
    empty = Snapshot("payments", (), {}, {}, {})
    report = build_report(empty, TEAM.agreements, NOW, TEAM.zone, 7)
    findings = [hostile(n, severity) for n, severity in enumerate(Severity)]
    subjects = merge_by_subject(findings, empty, "payments")
    focus = [FocusItem(f, 3.0, 5.0, 1.0, False, 0) for f in subjects]
    daily_report = replace(report, subjects=subjects, focus=focus)
    changes = SubjectChanges(NOW - timedelta(days=1), subjects, subjects[:1], subjects)
    trend = WeeklyTrend("wip", "WIP", "items", False, (NOW.date(),), (5.0,), "no data")
    queue = Queue("<!channel> <https://evil.example|QA>", 3)
    basis = ForecastBasis([1, 0, 2] * 20, NOW.date())

    daily = render_daily(TEAM, NOW, daily_report, report, changes, People(()))
    weekly = render_weekly("payments", NOW.date(), NOW, [trend], hostile(1), None, basis)
    queued = render_weekly("payments", NOW.date(), NOW, [trend], queue, None, basis)
    assert daily is not None and weekly is not None and queued is not None
    for message in (daily, weekly, queued):
        poster.post(TEAM_CHANNEL, message)

    assert injected(sent(fake)) == []
