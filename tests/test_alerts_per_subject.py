"""Alerts speak once per subject, to the person who can act: against the fake Slack.

The detectors' findings about one item are merged (:func:`insights.subjects.merge_by_subject`)
into one card that names who can act (a mention, or who is not mapped), is updated in place as
reasons come and go, stays acknowledged when a reason is added, and resolves when none remains;
the people it names who opted in get one DM.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from bot.config import PersonConfig, load_config
from bot.people import People
from bot.slack import ids
from bot.slack.delivering.alerts import AlertPolicy, deliver_alerts
from bot.slack.delivering.client import make_client
from bot.slack.delivering.jobs import sync_and_alert
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster
from insights.findings import ASSIGNEE, REVIEWER, Finding, Severity
from insights.model import Snapshot
from insights.subjects import merge_by_subject
from storage.alert_messages import load_alerts
from storage.people import set_personal_dms
from storage.slack_settings import Mute, save_mute
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_harness import ADMIN, MEMBER, TEAM_CHANNEL, BotHarness, demo_config, demo_runtime

TEAM = load_config(DEMO_CONFIG, env={}).teams[0]
NIGHT = NOW.replace(hour=21)  # 21:00 in London: quiet hours
MONDAY_9 = NOW.replace(day=23, hour=9)  # NOW is Wednesday 16:00 in London (UTC in November)
AMARA = "U0AMARA01"
BEN = "U0BEN0001"
PEOPLE = People(
    [
        PersonConfig(name="Amara Okafor", slack=AMARA, jira=("Amara Okafor",)),
        PersonConfig(name="Ben Lindqvist", slack=BEN, github=("blindqvist",)),
        PersonConfig(name="Farah Haddad", jira=("Farah Haddad",)),
    ]
)
WHO = re.compile(r"\*Who( \(\w+\))?:\* (<@U|.+not mapped to Slack|_no one is mapped|the team)")
EMPTY = Snapshot(team="payments", items=(), transitions={}, flags={}, reviews={})
REASONS = {
    "aging_item": (
        "{key} has been in Code Review for 6 days",
        "Ask a reviewer to pick it up, or swarm on it",
        {"age_days": 6.0, "status": "Code Review", "time_in_status_days": 4.0},
    ),
    "stale_item": (
        "{key} has had no change for 5 days",
        "Ask whether it is still being worked on",
        {"days_without_change": 5.0, "stale_after_days": 5, "last_change_at": "2026-11-18T10:00"},
    ),
    "blocked_item": (
        "{key} has been blocked by OPS-3 for 2 days",
        "Chase OPS-3, or escalate the block",
        {"blocked_hours": 55.0, "blocked_since": MONDAY_9.isoformat(), "status": "Blocked"},
    ),
}


def reason(
    detector: str,
    key: str = "PAY-1",
    severity: Severity = Severity.WARN,
    people: tuple[str, ...] = ("Amara Okafor",),
    role: str = ASSIGNEE,
) -> Finding:
    """One detector's finding about ``key``."""
    title, action, evidence = REASONS[detector]
    return Finding(
        detector=detector,
        severity=severity,
        subject=key,
        title=title.format(key=key),
        action=action,
        dedupe_key=f"{detector}:payments:{key}",
        evidence=evidence,
        item_keys=(key,),
        url=f"https://jira.example/browse/{key}",
        people=people,
        role=role,
    )


def subjects(*raw: Finding) -> list[Finding]:
    """The findings merged one per subject, as the alert job delivers them."""
    return merge_by_subject(raw, EMPTY, "payments")


@pytest.fixture
def poster(fake: FakeSlack) -> Poster:
    client = make_client(fake.api_url, BOT_TOKEN, lambda seconds: None)
    return Poster(client, ChannelPacer(interval=0, sleep=lambda seconds: None))


def deliver(engine, poster, findings, now=NOW):
    return deliver_alerts(
        engine, poster, TEAM, TEAM_CHANNEL, findings, now, AlertPolicy(), people=PEOPLE
    )


def cards(fake: FakeSlack) -> list:
    """The top-level posts in the team channel (cards, groups, overflow summaries)."""
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.params["channel"] == TEAM_CHANNEL and not c.params.get("thread_ts")
    ]


def dms(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.params["channel"].startswith("D")]


def test_a_card_mentions_the_person_who_can_act(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, subjects(reason("aging_item")))

    (card,) = cards(fake)
    assert "Who (assignee): <@U0AMARA01>" in card.block_text.replace("*", "")
    assert "What to do:" in card.block_text.replace("*", "")
    first_line = card.blocks[0]["text"]["text"].splitlines()[0]
    assert "<https://jira.example/browse/PAY-1|PAY-1> has been in Code Review" in first_line


def test_a_card_says_who_is_not_mapped_or_that_no_one_is(sqlite_engine, poster, fake) -> None:
    unmapped = reason("aging_item", "PAY-1", people=("Farah Haddad",))
    nobody = reason("aging_item", "PAY-2", people=())

    deliver(sqlite_engine, poster, subjects(unmapped, nobody))

    texts = {c.params["text"].split()[1]: c.block_text for c in cards(fake)}
    assert "Farah Haddad _(not mapped to Slack)_" in texts["PAY-1"]
    assert "<@" not in texts["PAY-1"]
    assert "no one is mapped" in texts["PAY-2"]


def test_two_findings_about_one_item_make_one_card(sqlite_engine, poster, fake) -> None:
    run = deliver(sqlite_engine, poster, subjects(reason("aging_item"), reason("stale_item")))

    (card,) = cards(fake)
    assert run.posted == 1
    assert card.params["text"] == "[warn] PAY-1 has had no change for 5 days"
    assert "Ask whether it is still being worked on" in card.block_text
    also = card.blocks[1]["elements"][0]["text"]
    assert also.splitlines() == ["*Also:*", ":warning: PAY-1 has been in Code Review for 6 days"]
    (record,) = load_alerts(sqlite_engine, "payments", TEAM_CHANNEL)
    assert record.dedupe_key == "item:payments:PAY-1"


def test_the_card_shows_few_numbers_and_ages_in_working_time(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, subjects(reason("blocked_item")))

    (card,) = cards(fake)
    evidence = card.blocks[0]["text"]["text"].splitlines()[1]
    # Monday 09:00 to Wednesday 16:00 in London: 9 + 9 + 7 working hours of 9-hour days
    assert evidence == "_in working time: blocked 2.8 working days of it_"
    assert "blocked hours" not in card.block_text, "the calendar figure gives way"


def test_a_new_reason_updates_the_same_card_and_is_noted(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, subjects(reason("aging_item")))
    (card,) = cards(fake)

    later = NOW + timedelta(hours=1)
    run = deliver(
        sqlite_engine, poster, subjects(reason("aging_item"), reason("blocked_item")), later
    )

    assert (run.posted, run.updated, run.follow_ups) == (0, 1, 1)
    assert cards(fake) == [card]
    (update,) = fake.calls_to("chat.update")
    assert update.params["ts"] == card.reply["ts"]
    assert update.params["text"] == "[warn] PAY-1 has been blocked by OPS-3 for 2 days"
    assert "Chase OPS-3" in update.block_text
    note = fake.calls_to("chat.postMessage")[-1]
    assert note.params["thread_ts"] == card.reply["ts"]
    assert note.params["text"] == "New: PAY-1 has been blocked by OPS-3 for 2 days"


def test_a_new_reason_at_night_updates_the_card_silently(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, subjects(reason("aging_item")))

    run = deliver(
        sqlite_engine, poster, subjects(reason("aging_item"), reason("stale_item")), NIGHT
    )

    assert (run.updated, run.follow_ups) == (1, 0)
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_an_unchanged_card_is_left_alone(sqlite_engine, poster, fake) -> None:
    both = subjects(reason("aging_item"), reason("stale_item"))
    deliver(sqlite_engine, poster, both)

    run = deliver(sqlite_engine, poster, both, NOW + timedelta(minutes=15))

    assert (run.posted, run.updated, run.follow_ups) == (0, 0, 0)
    assert fake.calls_to("chat.update") == []


def test_the_card_resolves_when_no_reason_remains(sqlite_engine, poster, fake) -> None:
    deliver(sqlite_engine, poster, subjects(reason("aging_item"), reason("stale_item")))

    fewer = deliver(sqlite_engine, poster, subjects(reason("aging_item")), NOW + timedelta(hours=1))
    gone = deliver(sqlite_engine, poster, subjects(), NOW + timedelta(hours=2))

    assert (fewer.updated, fewer.resolved, gone.resolved) == (1, 0, 1)
    (record,) = load_alerts(sqlite_engine, "payments", TEAM_CHANNEL)
    assert record.state == "resolved"
    last = fake.calls_to("chat.update")[-1]
    assert last.params["text"] == "Resolved: PAY-1 has been in Code Review for 6 days"
    assert not [b for b in last.blocks if b["type"] == "actions"]


def test_a_subject_whose_detectors_are_all_muted_is_not_alerted(
    sqlite_engine, poster, fake
) -> None:
    deliver(sqlite_engine, poster, subjects(reason("aging_item", "PAY-1")))
    save_mute(sqlite_engine, Mute("payments", "aging_item", NOW + timedelta(days=2), ADMIN, NOW))

    later = NOW + timedelta(hours=1)
    run = deliver(sqlite_engine, poster, subjects(reason("aging_item", "PAY-2")), later)
    other = deliver(sqlite_engine, poster, subjects(reason("stale_item", "PAY-3")), later)

    assert (run.posted, run.resolved) == (0, 0), "muted: neither posted nor resolved"
    assert other.posted == 1


def test_dms_go_once_to_opted_in_people_only(sqlite_engine, poster, fake) -> None:
    set_personal_dms(sqlite_engine, AMARA, True, NOW)
    set_personal_dms(sqlite_engine, BEN, False, NOW)
    waiting = reason("aging_item", people=("Amara Okafor", "blindqvist"), role=REVIEWER)

    first = deliver(sqlite_engine, poster, subjects(waiting))
    again = deliver(sqlite_engine, poster, subjects(waiting), NOW + timedelta(hours=1))

    assert (first.personal, again.personal) == (1, 0)
    (dm,) = dms(fake)
    assert dm.params["channel"] == "D0AMARA01"
    assert [c.params["users"] for c in fake.calls_to("conversations.open")] == [AMARA]
    assert "PAY-1" in dm.block_text and "Ask a reviewer to pick it up" in dm.block_text
    assert f"<#{TEAM_CHANNEL}>" in dm.block_text
    assert "as a reviewer it waits on" in dm.block_text


def test_an_escalation_to_critical_dms_again_once(sqlite_engine, poster, fake) -> None:
    set_personal_dms(sqlite_engine, AMARA, True, NOW)
    deliver(sqlite_engine, poster, subjects(reason("aging_item")))
    critical = subjects(reason("aging_item"), reason("blocked_item", severity=Severity.CRITICAL))

    run = deliver(sqlite_engine, poster, critical, NOW + timedelta(hours=1))
    deliver(sqlite_engine, poster, critical, NOW + timedelta(hours=2))

    assert run.personal == 1
    assert len(dms(fake)) == 2
    assert dms(fake)[-1].params["text"].startswith("PAY-1 has been blocked by OPS-3")


def test_no_dm_when_the_card_waits_for_working_hours(sqlite_engine, poster, fake) -> None:
    set_personal_dms(sqlite_engine, AMARA, True, NOW)

    run = deliver(sqlite_engine, poster, subjects(reason("aging_item")), NIGHT)

    assert (run.deferred, run.personal) == (1, 0)
    assert fake.calls_to("chat.postMessage") == []


def test_one_subject_in_two_channels_dms_a_person_once(sqlite_engine, poster, fake) -> None:
    fake.add_channel("C0SECOND1", "payments-leads")
    set_personal_dms(sqlite_engine, AMARA, True, NOW)
    found = subjects(reason("aging_item"))

    for channel in (TEAM_CHANNEL, "C0SECOND1"):
        deliver_alerts(sqlite_engine, poster, TEAM, channel, found, NOW, people=PEOPLE)

    assert len(dms(fake)) == 1


def people_config(fake: FakeSlack):
    config = demo_config(fake)
    people = (
        PersonConfig(name="Amara Okafor", slack=AMARA, jira=("Amara Okafor",)),
        PersonConfig(name="Ben Lindqvist", slack=BEN, jira=("Ben Lindqvist",)),
    )
    return config.model_copy(update={"people": people})


@pytest.fixture
def mapped(fake: FakeSlack, tmp_path):
    bot = BotHarness(fake, demo_runtime(people_config(fake), tmp_path))
    yield bot
    bot.close()


def test_acknowledging_a_card_acknowledges_its_subject(mapped: BotHarness, fake) -> None:
    engine = mapped.runtime.engine
    set_personal_dms(engine, AMARA, True, NOW)
    poster = mapped.bot.deps.poster(mapped.bot.app.client)
    deliver_alerts(
        engine, poster, TEAM, TEAM_CHANNEL, subjects(reason("aging_item")), NOW, people=PEOPLE
    )
    (record,) = load_alerts(engine, "payments", TEAM_CHANNEL)

    mapped.click(ids.ACKNOWLEDGE, str(record.id), message_ts=record.ts or "")
    (ack,) = fake.wait_for("chat.update")
    more = subjects(reason("aging_item"), reason("blocked_item", severity=Severity.CRITICAL))
    later = NOW + timedelta(hours=1)
    run = deliver_alerts(engine, poster, TEAM, TEAM_CHANNEL, more, later, people=PEOPLE)

    assert "<@U0AMARA01>" in ack.block_text, "the re-rendered card keeps the mention"
    assert "Acknowledged by <@U0MEMBER1>" in ack.block_text
    assert (run.posted, run.updated, run.follow_ups, run.personal) == (0, 1, 0, 0)
    (kept,) = load_alerts(engine, "payments", TEAM_CHANNEL)
    assert kept.state == "acknowledged" and kept.severity == "critical"
    last = fake.calls_to("chat.update")[-1]
    assert "Chase OPS-3" in last.block_text and "Acknowledged by" in last.block_text
    assert len(cards(fake)) == 1


def test_the_alert_job_posts_one_card_per_subject_naming_who_can_act(
    mapped: BotHarness, fake
) -> None:
    deps = mapped.bot.deps
    deps.policy = dataclasses.replace(deps.policy, daily_cap=100)  # every subject gets its card
    set_personal_dms(deps.runtime.engine, AMARA, True, NOW)
    set_personal_dms(deps.runtime.engine, MEMBER, True, NOW)  # named on no card

    sync_and_alert(deps)
    sync_and_alert(deps)

    records = load_alerts(deps.runtime.engine, "payments", TEAM_CHANNEL)
    subjects_alerted = [r.finding["subject"] for r in records if r.detector == "item"]
    assert subjects_alerted and len(subjects_alerted) == len(set(subjects_alerted))
    in_thread = [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(in_thread) == len(records)
    assert all(WHO.search(c.block_text) for c in in_thread), "each card names who, or no one"
    amara_cards = [c for c in in_thread if f"<@{AMARA}>" in c.block_text]
    assert amara_cards, "the demo has items assigned to Amara"
    assert len(dms(fake)) == len(amara_cards)
    assert {c.params["channel"] for c in dms(fake)} == {"D0AMARA01"}
