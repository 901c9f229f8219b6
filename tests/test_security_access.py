"""Who may see and change what: admin-only commands, channels mapped to teams, and injections.

Admin commands refuse everyone else; a channel sees only the teams mapped to it (app.yaml's
channel, or subscribed / alerted there); and hostile text in commands or payload fields never
reaches SQL: it gets a usage reply or is stored literally, and every table stays intact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, table

from bot.slack.receiving.parser import USAGES
from storage.sends import SendKey, claim_send, load_send
from storage.slack_settings import (
    AlertChannel,
    Mute,
    Subscription,
    active_mutes,
    load_alert_channels,
    load_subscriptions,
    save_alert_channel,
    save_mute,
    save_subscription,
    teams_followed_in,
)
from tests.conftest import NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, MEMBER, TEAM_CHANNEL, BotHarness, demo_config, demo_runtime

PLATFORM_CHANNEL = "C0PLATFORM"
RANDOM_CHANNEL = "C0RANDOMCH"
TEAM_ADMIN = "U0TEAMADM1"
ADMIN_COMMANDS = {
    "subscribe": "subscribe digest daily 09:30",
    "unsubscribe": "unsubscribe",
    "alerts": "alerts off",
    "mute": "mute stale_item 3",
    "track": "track release 2.3",
    "untrack": "untrack release 2.3",
}
INJECTIONS = [
    "'; DROP TABLE slack_subscriptions; --",
    "stale_item'; DELETE FROM slack_mutes; --",
    "payments' OR '1'='1",
    'pay"ments',
    "1; UPDATE slack_sends SET state='sent'",
    "Robert'); DROP TABLE work_items;--",
]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        slack.add_channel(PLATFORM_CHANNEL, "platform-flow")
        yield slack


@pytest.fixture
def harness(fake, tmp_path) -> Iterator[BotHarness]:
    """Two teams: payments (#payments-flow) and platform (C0PLATFORM, with its own admin)."""
    config = demo_config(fake)
    payments = config.teams[0]
    platform = payments.model_copy(
        update={"name": "platform", "channel": PLATFORM_CHANNEL, "admins": (TEAM_ADMIN,)}
    )
    bot = BotHarness(
        fake, demo_runtime(config.model_copy(update={"teams": (payments, platform)}), tmp_path)
    )
    yield bot
    bot.close()


def answer(harness: BotHarness, text: str, **kwargs: Any) -> dict[str, Any]:
    """The reply to ``/vsm text``: in the ack itself (usage, help) or through the response_url."""
    response, name = harness.command(text, **kwargs)
    assert response.status_code == 200, response.text
    if response.content:
        return dict(response.json())
    return harness.fake.wait_for("response", name=name)[0].params


def table_counts(engine: Engine) -> dict[str, int]:
    """Every table and its row count, but the record of accepted requests (replays)."""
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in inspect(engine).get_table_names()
            if name != "slack_seen_requests"
        }


def test_every_admin_command_is_refused_to_members(harness) -> None:
    assert set(ADMIN_COMMANDS) == {name for name, usage in USAGES.items() if usage.admin}
    before = table_counts(harness.runtime.engine)

    for text in ADMIN_COMMANDS.values():
        reply = answer(harness, text, user=MEMBER)
        assert "Only the admins" in reply["text"] and MEMBER in reply["text"]

    assert table_counts(harness.runtime.engine) == before


def test_a_team_admin_administers_only_their_team(harness) -> None:
    own = answer(
        harness,
        "subscribe digest daily 09:30",
        user=TEAM_ADMIN,
        channel=PLATFORM_CHANNEL,
        channel_name="platform-flow",
    )
    other = answer(harness, "alerts off", user=TEAM_ADMIN)  # in payments' channel

    assert own["text"].startswith("Done")
    assert "Only the admins" in other["text"]
    assert [s.team for s in load_subscriptions(harness.runtime.engine)] == ["platform"]
    assert load_alert_channels(harness.runtime.engine, "payments") == []


def test_a_channel_sees_only_its_teams(harness) -> None:
    own = answer(harness, "status")
    named_own = answer(harness, "status payments")
    other = answer(harness, "status platform")

    assert "payments/demo" in json.dumps(own["blocks"]) and "payments/demo" in json.dumps(
        named_own["blocks"]
    )
    assert "This channel shows payments only" in other["text"]
    assert PLATFORM_CHANNEL in other["text"], "it says where to ask instead"
    assert "platform/demo" not in json.dumps(other["blocks"]), "none of platform's data"


def test_an_unmapped_channel_shows_nothing_until_an_admin_maps_it(harness) -> None:
    where = {"channel": RANDOM_CHANNEL, "channel_name": "random"}
    before = answer(harness, "status payments", **where)
    unnamed = answer(harness, "status", **where)
    direct = answer(harness, "flow platform", channel="D0MEMBER1", channel_name="directmessage")
    admin = answer(harness, "status platform", user=ADMIN, **where)
    answer(harness, "subscribe digest daily 10:00 platform", user=ADMIN, **where)
    mapped = answer(harness, "status platform", **where)
    still_not = answer(harness, "status payments", **where)

    for refused in (before, unnamed, direct):
        assert "not mapped to any team" in refused["text"], refused["text"]
    for allowed in (admin, mapped):  # platform's status
        assert "platform" in allowed["text"] and "not mapped" not in allowed["text"]
    assert "This channel shows platform only" in still_not["text"]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_hostile_command_text_gets_a_usage_reply_and_touches_no_table(harness, hostile) -> None:
    engine = harness.runtime.engine
    before = table_counts(engine)

    replies = [
        answer(harness, f"mute {hostile}", user=ADMIN),
        answer(harness, f"subscribe digest daily 09:30 {hostile}", user=ADMIN),
        answer(harness, f"flow {hostile}"),
        answer(harness, f"status {hostile}"),
        answer(harness, hostile, user=ADMIN),
    ]

    for reply in replies:
        assert "Usage:" in reply["text"] or "Try one of" in reply["text"], reply["text"]
    assert table_counts(engine) == before
    assert active_mutes(engine, "payments", NOW) == [] and load_subscriptions(engine) == []


def test_slack_markup_in_command_text_is_escaped_in_the_reply(harness) -> None:
    reply = answer(harness, "flow <!channel> <https://evil.example|click>")

    text = json.dumps(reply["blocks"])
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example" not in text


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_hostile_payload_fields_are_stored_literally(harness, hostile) -> None:
    engine = harness.runtime.engine
    tables = set(table_counts(engine))

    reply = answer(harness, "subscribe digest daily 09:30 payments", user=ADMIN, channel=hostile)

    assert reply["text"].startswith("Done"), reply["text"]
    (stored,) = load_subscriptions(engine)
    assert stored.channel_id == hostile
    assert set(table_counts(engine)) == tables


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_storage_binds_hostile_values_as_data(engine, hostile) -> None:
    before = set(inspect(engine).get_table_names())
    subscription = Subscription("payments", hostile, "daily", "09:30", None, hostile, NOW, hostile)
    save_subscription(engine, subscription)
    save_mute(engine, Mute("payments", hostile, None, hostile, NOW))
    save_alert_channel(engine, AlertChannel("payments", hostile, True, hostile, NOW, hostile))
    key = SendKey("payments", hostile, "digest_daily", hostile)

    claim = claim_send(engine, key, NOW)
    assert claim is not None and claim.key == key
    assert claim_send(engine, key, NOW + timedelta(seconds=1)) is None
    assert load_subscriptions(engine) == [subscription]
    assert [m.detector for m in active_mutes(engine, "payments", NOW)] == [hostile]
    assert teams_followed_in(engine, hostile) == {"payments"}
    assert teams_followed_in(engine, "' OR '1'='1") == set()
    record = load_send(engine, key)
    assert record is not None and record.key == key
    assert set(inspect(engine).get_table_names()) == before
