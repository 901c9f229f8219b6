"""The bot's state in the database (SQLite, and PostgreSQL when configured): claims and records."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

from storage.alert_messages import (
    AlertRecord,
    count_channel_cards_since,
    load_alert,
    load_alerts,
    save_alert,
)
from storage.sends import (
    STALE_CLAIM,
    SendKey,
    begin_posting,
    claim_send,
    fail_send,
    finish_send,
    load_send,
    mark_unknown,
)
from storage.slack_settings import (
    AlertChannel,
    Mute,
    Subscription,
    active_mutes,
    delete_subscriptions,
    load_alert_channels,
    load_subscriptions,
    save_alert_channel,
    save_mute,
    save_subscription,
)
from tests.conftest import NOW

KEY = SendKey("payments", "C1", "digest_daily", "2026-11-25")


def test_a_send_is_claimed_once(engine) -> None:
    assert claim_send(engine, KEY, NOW) is not None
    assert claim_send(engine, KEY, NOW) is None
    assert claim_send(engine, dataclasses.replace(KEY, period="2026-11-26"), NOW) is not None


def test_concurrent_claims_have_one_winner(engine) -> None:
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda: wins.append(claim_send(engine, KEY, NOW) is not None))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_a_finished_send_keeps_its_ts(engine) -> None:
    claim = claim_send(engine, KEY, NOW)
    assert claim is not None and begin_posting(engine, claim)
    assert finish_send(engine, claim, "sent", "123.456", NOW + timedelta(seconds=2)) is True

    record = load_send(engine, KEY)
    assert record is not None and (record.state, record.ts) == ("sent", "123.456")
    assert claim_send(engine, KEY, NOW + 2 * STALE_CLAIM) is None, "sent is final"


def test_a_stale_claim_is_taken_over_and_the_old_claimer_cannot_post(engine) -> None:
    later = NOW + STALE_CLAIM
    first = claim_send(engine, KEY, NOW)

    fresh = claim_send(engine, KEY, later - timedelta(seconds=1))
    stale = claim_send(engine, KEY, later)

    assert first is not None and fresh is None and stale is not None
    assert stale.unsure_since is None, "nothing was posting: nothing to look for"
    assert begin_posting(engine, first) is False, "the first claimer lost its claim"
    assert begin_posting(engine, stale) is True


def test_a_send_left_posting_is_taken_over_and_looked_for_first(engine) -> None:
    first = claim_send(engine, KEY, NOW)
    assert first is not None and begin_posting(engine, first)

    fresh = claim_send(engine, KEY, NOW + STALE_CLAIM - timedelta(seconds=1))
    taken = claim_send(engine, KEY, NOW + STALE_CLAIM)
    assert fresh is None and taken is not None
    died_again = claim_send(engine, KEY, NOW + 2 * STALE_CLAIM)

    assert taken.unsure_since == NOW, "the post that began then may be in Slack"
    assert died_again is not None and died_again.unsure_since == NOW, "still unsure"
    assert begin_posting(engine, died_again) is True
    assert finish_send(engine, first, "sent", "1.1", NOW) is False, "taken over while posting"


def test_a_post_that_ends_after_a_takeover_stops_the_new_attempt_before_it_posts(engine) -> None:
    first = claim_send(engine, KEY, NOW)
    assert first is not None and begin_posting(engine, first)
    taken = claim_send(engine, KEY, NOW + STALE_CLAIM)
    assert taken is not None

    assert finish_send(engine, first, "sent", "1.1", NOW + STALE_CLAIM) is True
    assert begin_posting(engine, taken) is False, "it is sent: the new attempt never posts"


def test_a_failed_send_is_claimed_again_after_the_retry_delay(engine) -> None:
    wait = timedelta(minutes=5)
    claim = claim_send(engine, KEY, NOW)
    assert claim is not None and begin_posting(engine, claim)
    fail_send(engine, claim)

    record = load_send(engine, KEY)
    assert record is not None and record.state == "failed"
    assert claim_send(engine, KEY, NOW + wait - timedelta(seconds=1), retry_after=wait) is None
    again = claim_send(engine, KEY, NOW + wait, retry_after=wait)
    assert again is not None and again.unsure_since is None, "Slack refused it: not in Slack"


def test_an_unknown_send_is_claimed_again_and_looked_for_first(engine) -> None:
    wait = timedelta(minutes=5)
    claim = claim_send(engine, KEY, NOW)
    assert claim is not None and begin_posting(engine, claim)
    mark_unknown(engine, claim)

    record = load_send(engine, KEY)
    again = claim_send(engine, KEY, NOW + wait, retry_after=wait)

    assert record is not None and record.state == "unknown"
    assert again is not None and again.unsure_since == NOW


def test_a_subscription_replaces_the_channels_earlier_one_of_its_kind(engine) -> None:
    daily = Subscription("payments", "C1", "daily", "09:30", None, "U1", NOW, "T1")
    save_subscription(engine, daily)
    save_subscription(engine, dataclasses.replace(daily, at="10:00"))
    save_subscription(engine, dataclasses.replace(daily, kind="weekly", weekday="mon"))

    assert [(s.kind, s.at) for s in load_subscriptions(engine, "payments")] == [
        ("daily", "10:00"),
        ("weekly", "09:30"),
    ]
    assert delete_subscriptions(engine, "payments", "C1", "daily") == 1
    assert delete_subscriptions(engine, "payments", "C1", None) == 1
    assert load_subscriptions(engine) == []


def test_mutes_expire(engine) -> None:
    save_mute(engine, Mute("payments", "stale_item", NOW + timedelta(days=1), "U1", NOW))
    save_mute(engine, Mute("payments", "pr_large", None, "U1", NOW))

    assert [m.detector for m in active_mutes(engine, "payments", NOW)] == ["pr_large", "stale_item"]
    assert [m.detector for m in active_mutes(engine, "payments", NOW + timedelta(days=2))] == [
        "pr_large"
    ]


def test_alert_channels_switch(engine) -> None:
    save_alert_channel(engine, AlertChannel("payments", "C1", True, "U1", NOW, "T1"))
    save_alert_channel(engine, AlertChannel("payments", "C1", False, "U2", NOW, "T1"))

    (channel,) = load_alert_channels(engine, "payments")
    assert (channel.enabled, channel.changed_by) == (False, "U2")


def test_alert_records_round_trip_and_count_top_level_posts(engine) -> None:
    base = AlertRecord(
        "payments",
        "C1",
        "k1",
        "aging_item",
        "warn",
        {"title": "t", "evidence": {"age_days": 3}},
        "fp",
        "open",
        NOW,
        NOW,
        ts="1.1",
        posted_at=NOW,
    )
    first = save_alert(engine, base)
    save_alert(engine, dataclasses.replace(base, dedupe_key="k2", ts="1.2", thread_ts="1.0"))
    save_alert(engine, dataclasses.replace(base, dedupe_key="k3", ts="1.3", thread_ts="1.0"))
    save_alert(engine, dataclasses.replace(base, dedupe_key="k4", ts=None, posted_at=None))

    assert first.id is not None
    assert load_alert(engine, first.id) == first
    assert [r.dedupe_key for r in load_alerts(engine, "payments", "C1")] == ["k1", "k2", "k3", "k4"]
    assert count_channel_cards_since(engine, "C1", NOW - timedelta(hours=1)) == 3
    assert count_channel_cards_since(engine, "C1", NOW + timedelta(hours=1)) == 0
    updated = save_alert(engine, dataclasses.replace(first, state="snoozed", snoozed_until=NOW))
    assert load_alert(engine, first.id) == updated
