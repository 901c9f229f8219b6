"""No vendor string reaches Slack unescaped, in any field Slack reads: an audit of every post.

Work-item keys, titles, statuses and URLs come from Jira, GitHub, GitLab and PagerDuty, so they
are hostile: each alert path (single cards, groups, the daily cap's summary, escalations,
resolutions, buttons) and each digest is driven with such text, and every call the fake Slack
received is searched for a broad mention or a link Slack would act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.config import load_config
from bot.slack.answering.answers import Trend
from bot.slack.answering.render_digest import render_daily, render_weekly
from bot.slack.delivering.alerts import AlertPolicy, deliver_alerts
from bot.slack.delivering.client import make_client
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster
from insights.findings import Finding, Severity
from insights.forecast import ForecastBasis
from insights.report import Digest, ItemLine
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
        deliver_alerts(sqlite_engine, poster, TEAM, TEAM_CHANNEL, findings, at, policy)

    deliver([hostile(1)], NOW)
    deliver([hostile(1, Severity.CRITICAL, age=9)], NOW + timedelta(minutes=5))
    deliver([hostile(n) for n in range(1, 5)], NOW + timedelta(minutes=10))
    deliver([hostile(n) for n in range(1, 9)], NOW + timedelta(minutes=15))
    deliver([], NOW + timedelta(minutes=20))

    payloads = sent(fake)
    assert len(payloads) > 8
    assert injected(payloads) == []


def test_both_digests_escape_vendor_text(poster, fake) -> None:
    findings = [hostile(n, severity) for n, severity in enumerate(Severity)]
    line = ItemLine("PAY-1<!channel>", "<!here>", "<!channel>", 86400.0, None, "<!channel>")
    digest = Digest("payments", NOW, 14, 3, 10, 3, 1.0, 2.0, 20, aging=[line], blocked=[line])
    trend = Trend("Finished", 5.0, 4.0, "items", True)
    basis = ForecastBasis([1, 0, 2] * 20, NOW.date())

    daily = render_daily("payments", NOW.date(), digest, findings)
    weekly = render_weekly("payments", NOW.date(), NOW, [trend], None, None, basis, findings)
    assert daily is not None and weekly is not None
    poster.post(TEAM_CHANNEL, daily)
    poster.post(TEAM_CHANNEL, weekly)

    assert injected(sent(fake)) == []
