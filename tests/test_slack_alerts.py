"""The alert pipeline with hand-made findings: posted once, updated, resolved, snoozed, quiet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.config import load_config
from bot.people import People
from bot.slack import ids
from bot.slack.delivering.alerts import AlertPolicy, alert_admins, deliver_alerts, may_notify
from bot.slack.delivering.client import make_client
from bot.slack.delivering.jobs import sync_and_alert
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster, UncertainPost
from insights.findings import Finding, Severity
from storage.alert_messages import load_alerts
from storage.health import load_health, record_health
from storage.slack_settings import Mute, save_mute
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import ADMIN, TEAM_CHANNEL, BotHarness, demo_config, demo_runtime

TEAM = load_config(DEMO_CONFIG, env={}).teams[0]
CHANNEL = TEAM_CHANNEL
NIGHT = NOW.replace(hour=21)  # 21:00 in London: quiet hours
SATURDAY = NOW + timedelta(days=3)
NOBODY = People(())


def finding(key: str, severity: Severity = Severity.WARN, age: int = 6, **kw) -> Finding:
    return Finding(
        detector=kw.pop("detector", "aging_item"),
        severity=severity,
        subject=key,
        title=f"{key} has been in Code Review for {age} days",
        action="Ask a reviewer to pick it up, or swarm on it",
        dedupe_key=f"aging_item:payments:{key}",
        evidence={"age_days": age, "p85_days": 4.5},
        url=f"https://demo.example/{key}",
        **kw,
    )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def poster(fake: FakeSlack) -> Poster:
    waits: list[float] = []
    client = make_client(fake.api_url, BOT_TOKEN, waits.append)
    return Poster(client, ChannelPacer(interval=0, sleep=waits.append))


DEFAULT_POLICY = AlertPolicy()


def deliver(sqlite_engine, poster, findings, now=NOW, policy=DEFAULT_POLICY):
    return deliver_alerts(
        sqlite_engine, poster, TEAM, CHANNEL, findings, now, policy, people=NOBODY
    )


def test_a_new_finding_is_posted_once(sqlite_engine, poster, fake) -> None:
    first = deliver(sqlite_engine, poster, [finding("PAY-1")])
    second = deliver(sqlite_engine, poster, [finding("PAY-1")], NOW + timedelta(hours=1))

    assert (first.posted, second.posted, second.updated) == (1, 0, 0)
    (post,) = fake.calls_to("chat.postMessage")
    assert post.params["text"] == "[warn] PAY-1 has been in Code Review for 6 days"
    actions = next(b for b in post.blocks if b["type"] == "actions")["elements"]
    (record,) = load_alerts(sqlite_engine, "payments", CHANNEL)
    assert [a["action_id"] for a in actions] == [
        ids.ACKNOWLEDGE,
        ids.SNOOZE_DAY,
        ids.SNOOZE_WEEK,
        ids.OPEN_ITEM,
    ]
    assert {a["value"] for a in actions} == {str(record.id)}
    assert actions[-1]["url"] == "https://demo.example/PAY-1"
    assert record.ts == post.reply["ts"]


def test_an_alert_whose_answer_was_lost_is_not_posted_twice(sqlite_engine, poster, fake) -> None:
    fake.interrupt_next("chat.postMessage", accept=True, answer=False)

    run = deliver(sqlite_engine, poster, [finding("PAY-1")])

    (message,) = fake.posted(CHANNEL)
    (record,) = load_alerts(sqlite_engine, "payments", CHANNEL)
    assert (run.posted, record.ts) == (1, message["ts"])


def test_an_alert_posted_by_an_interrupted_run_is_found_by_the_next(
    sqlite_engine, poster, fake
) -> None:
    fake.interrupt_next("chat.postMessage", accept=True, answer=False)
    for _ in range(3):  # nobody can look either: the first run gives up, unsure
        fake.fail_next("conversations.history", status=503, error="service_unavailable")
    with pytest.raises(UncertainPost):
        deliver(sqlite_engine, poster, [finding("PAY-1")])

    run = deliver(sqlite_engine, poster, [finding("PAY-1")], NOW + timedelta(minutes=15))

    (message,) = fake.posted(CHANNEL)
    (record,) = load_alerts(sqlite_engine, "payments", CHANNEL)
    assert (run.posted, record.ts) == (1, message["ts"])


def test_info_findings_wait_for_the_digest(sqlite_engine, poster, fake) -> None:
    run = deliver(sqlite_engine, poster, [finding("PAY-1", Severity.INFO)])

    assert run.posted == 0
    assert fake.calls_to("chat.postMessage") == []


def test_a_changed_finding_is_updated_in_place_and_escalation_noted(
    sqlite_engine, poster, fake
) -> None:
    deliver(sqlite_engine, poster, [finding("PAY-1")])

    run = deliver(sqlite_engine, poster, [finding("PAY-1", Severity.CRITICAL, age=9)])

    assert (run.posted, run.updated, run.follow_ups) == (0, 1, 1)
    parent = fake.calls_to("chat.postMessage")[0].reply["ts"]
    (update,) = fake.calls_to("chat.update")
    assert update.params["ts"] == parent
    assert "9 days" in update.block_text
    note = fake.calls_to("chat.postMessage")[1]
    assert note.params["thread_ts"] == parent
    assert "Escalated to critical" in note.params["text"]


def test_a_cleared_finding_is_marked_resolved(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, [finding("PAY-1"), finding("PAY-2")])

    run = deliver(sqlite_engine, poster, [finding("PAY-2")], NOW + timedelta(hours=2))

    assert run.resolved == 1
    (update,) = fake.calls_to("chat.update")
    assert update.params["text"].startswith("Resolved: PAY-1")
    assert not [b for b in update.blocks if b["type"] == "actions"], "no buttons once resolved"
    states = {r.dedupe_key: r.state for r in load_alerts(sqlite_engine, "payments", CHANNEL)}
    assert states == {"aging_item:payments:PAY-1": "resolved", "aging_item:payments:PAY-2": "open"}


def test_a_finding_back_within_the_cooldown_reopens_its_message(
    sqlite_engine, poster, fake
) -> None:
    deliver(sqlite_engine, poster, [finding("PAY-1")])
    deliver(sqlite_engine, poster, [], NOW + timedelta(hours=1))

    back = deliver(sqlite_engine, poster, [finding("PAY-1")], NOW + timedelta(hours=1.5))
    deliver(sqlite_engine, poster, [], NOW + timedelta(hours=1.75))
    after_cooldown = NOW + timedelta(hours=1.75) + AlertPolicy().cooldown
    fresh = deliver(sqlite_engine, poster, [finding("PAY-1")], after_cooldown)

    assert back.posted == 0 and back.updated == 1
    assert fresh.posted == 1
    top_level = [c for c in fake.calls_to("chat.postMessage") if not c.params.get("thread_ts")]
    assert len(top_level) == 2


def test_quiet_hours_and_weekends_hold_new_alerts(sqlite_engine, poster, fake) -> None:
    assert may_notify(TEAM, NOW)
    assert not may_notify(TEAM, NIGHT)
    assert not may_notify(TEAM, SATURDAY)

    held = deliver(sqlite_engine, poster, [finding("PAY-1")], NIGHT)
    weekend = deliver(sqlite_engine, poster, [finding("PAY-1")], SATURDAY)
    morning = deliver(sqlite_engine, poster, [finding("PAY-1")], SATURDAY + timedelta(days=2))

    assert (held.deferred, weekend.deferred, morning.posted) == (1, 1, 1)
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_resolution_at_night_updates_silently(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, [finding("PAY-1")])

    run = deliver(sqlite_engine, poster, [], NIGHT)

    assert (run.resolved, run.follow_ups) == (1, 0)
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_many_new_findings_are_grouped_with_cards_in_the_thread(
    sqlite_engine, poster, fake
) -> None:
    findings = [finding(f"PAY-{n}") for n in range(1, 6)]

    run = deliver(sqlite_engine, poster, findings, policy=AlertPolicy(group_above=3))

    posts = fake.calls_to("chat.postMessage")
    assert run.posted == 5
    assert posts[0].params["text"] == "5 new findings for payments"
    parent = posts[0].reply["ts"]
    assert [p.params.get("thread_ts") for p in posts[1:]] == [parent] * 5


def test_the_daily_cap_summarises_the_overflow_in_one_message(sqlite_engine, poster, fake) -> None:
    policy = AlertPolicy(daily_cap=2, group_above=10)
    first = deliver(
        sqlite_engine, poster, [finding(f"PAY-{n}") for n in range(1, 5)], policy=policy
    )
    more = [finding(f"PAY-{n}") for n in range(1, 6)]
    second = deliver(sqlite_engine, poster, more, NOW + timedelta(hours=1), policy)

    assert (first.posted, first.overflow) == (2, 2)
    assert (second.posted, second.overflow) == (0, 3)
    posts = fake.calls_to("chat.postMessage")
    assert len(posts) == 3  # two cards and one overflow summary
    assert "2 more finding(s)" in posts[2].block_text
    (update,) = fake.calls_to("chat.update")
    assert update.params["ts"] == posts[2].reply["ts"]
    assert "3 more finding(s)" in update.block_text
    tomorrow = deliver(sqlite_engine, poster, more, NOW + timedelta(days=1), policy)
    assert tomorrow.posted == 2


def test_critical_findings_go_first_under_the_cap(sqlite_engine, poster, fake) -> None:
    findings = [finding("PAY-1"), finding("PAY-2", Severity.CRITICAL)]

    deliver(sqlite_engine, poster, findings, policy=AlertPolicy(daily_cap=1))

    assert fake.calls_to("chat.postMessage")[0].params["text"].startswith("[critical] PAY-2")


def test_muted_detectors_are_not_alerted_nor_resolved(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, [finding("PAY-1")])
    save_mute(sqlite_engine, Mute("payments", "aging_item", NOW + timedelta(days=2), ADMIN, NOW))

    run = deliver(sqlite_engine, poster, [finding("PAY-2")], NOW + timedelta(hours=1))

    assert (run.posted, run.resolved) == (0, 0)
    monday = NOW + timedelta(days=5)  # the mute ran out on Friday
    after = deliver(sqlite_engine, poster, [finding("PAY-2")], monday)
    assert after.posted == 1


def test_admins_hear_once_a_day_about_a_failing_source(sqlite_engine, poster, fake) -> None:
    config = load_config(DEMO_CONFIG, env={})
    config = config.model_copy(
        update={"slack": config.slack.model_copy(update={"admins": (ADMIN,)})}
    )
    for hour in range(3):
        record_health(
            sqlite_engine,
            source_key="payments/jira",
            team="payments",
            source="jira",
            now=NOW - timedelta(hours=3 - hour),
            error="401 Unauthorized: check JIRA_TOKEN",
            records=0,
            skipped=0,
            unmapped=set(),
        )
    health = load_health(sqlite_engine)
    sent = [
        alert_admins(sqlite_engine, poster, config, health, NOW + timedelta(minutes=m))
        for m in (0, 30)
    ]

    assert sent == [1, 0]
    (dm,) = fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "D" + ADMIN.removeprefix("U")
    assert "failed 3 syncs in a row" in dm.block_text
    assert "401 Unauthorized" in dm.block_text


@pytest.fixture
def harness(fake: FakeSlack, tmp_path) -> Iterator[BotHarness]:
    bot = BotHarness(fake, demo_runtime(demo_config(fake), tmp_path))
    yield bot
    bot.close()


def test_snooze_button_is_stored_shown_and_respected(harness: BotHarness, fake) -> None:
    engine = harness.runtime.engine
    poster = harness.bot.deps.poster(harness.bot.app.client)
    deliver_alerts(engine, poster, TEAM, CHANNEL, [finding("PAY-1")], NOW, people=NOBODY)
    (record,) = load_alerts(engine, "payments", CHANNEL)

    response, _ = harness.click(ids.SNOOZE_DAY, str(record.id), message_ts=record.ts or "")

    assert response.status_code == 200
    (update,) = fake.wait_for("chat.update")
    assert "Snoozed by <@U0MEMBER1> until" in update.block_text
    (snoozed,) = load_alerts(engine, "payments", CHANNEL)
    assert snoozed.state == "snoozed"
    assert snoozed.snoozed_until == NOW + timedelta(days=1)
    escalated = [finding("PAY-1", Severity.CRITICAL, age=8)]
    later = NOW + timedelta(hours=2)
    quiet = deliver_alerts(engine, poster, TEAM, CHANNEL, escalated, later, people=NOBODY)
    assert quiet.follow_ups == 0, "no thread noise while snoozed"
    woke = deliver_alerts(
        engine, poster, TEAM, CHANNEL, escalated, NOW + timedelta(days=1, hours=1), people=NOBODY
    )
    assert woke.follow_ups == 1
    assert "snooze is over" in fake.calls_to("chat.postMessage")[-1].params["text"]


def test_acknowledge_button_stops_follow_ups(harness: BotHarness, fake) -> None:
    engine = harness.runtime.engine
    poster = harness.bot.deps.poster(harness.bot.app.client)
    deliver_alerts(engine, poster, TEAM, CHANNEL, [finding("PAY-1")], NOW, people=NOBODY)
    (record,) = load_alerts(engine, "payments", CHANNEL)

    harness.click(ids.ACKNOWLEDGE, str(record.id))
    fake.wait_for("chat.update")
    critical = [replace(finding("PAY-1"), severity=Severity.CRITICAL)]
    run = deliver_alerts(engine, poster, TEAM, CHANNEL, critical, NOW, people=NOBODY)

    assert run.follow_ups == 0
    assert "Acknowledged by <@U0MEMBER1>" in fake.calls_to("chat.update")[-1].block_text
    assert load_alerts(engine, "payments", CHANNEL)[0].state == "acknowledged"


def test_a_button_on_a_resolved_alert_is_explained(harness: BotHarness, fake) -> None:
    engine = harness.runtime.engine
    poster = harness.bot.deps.poster(harness.bot.app.client)
    deliver_alerts(engine, poster, TEAM, CHANNEL, [finding("PAY-1")], NOW, people=NOBODY)
    deliver_alerts(engine, poster, TEAM, CHANNEL, [], NOW, people=NOBODY)
    (record,) = load_alerts(engine, "payments", CHANNEL)

    _, name = harness.click(ids.SNOOZE_WEEK, str(record.id))

    assert "already resolved" in fake.wait_for("response", name=name)[0].params["text"]


def test_after_each_sync_the_demo_findings_are_alerted_once(harness: BotHarness, fake) -> None:
    deps = harness.bot.deps
    alertable = [f for f in deps.answers.subjects(TEAM, NOW) if f.severity is not Severity.INFO]

    sync_and_alert(deps)
    posts_after_first = len(fake.calls_to("chat.postMessage"))
    sync_and_alert(deps)

    posts = fake.calls_to("chat.postMessage")
    cap = deps.policy.daily_cap
    assert len(alertable) > cap
    # the group, the cards within the day's cap, and one note on the ones held back
    assert posts_after_first == len(posts) == 1 + cap + 1
    assert {p.params["channel"] for p in posts} == {CHANNEL}
    assert posts[0].params["text"] == f"{cap} new findings for payments"
    held_back = len(alertable) - cap
    assert f"{held_back} more finding(s)" in posts[-1].block_text


def test_alerts_off_in_the_team_channel_silences_it(harness: BotHarness, fake) -> None:
    harness.reply("alerts off", user=ADMIN)

    sync_and_alert(harness.bot.deps)

    assert fake.calls_to("chat.postMessage") == []


def test_bare_alerts_shows_what_the_current_settings_would_have_sent(
    harness: BotHarness, fake
) -> None:
    sync_and_alert(harness.bot.deps)

    reply = harness.reply("alerts", user=ADMIN)

    text = json.dumps(reply["blocks"])
    assert reply["response_type"] == "ephemeral"
    assert "would have sent on average" in text
    assert f"daily cap {harness.bot.deps.policy.daily_cap}" in text
