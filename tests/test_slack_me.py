"""`/vsm me`, personal DMs on and off, and the App Home per person, against the fake Slack.

The demo's people (app.yaml ``people:``) have e-mails and no Slack ids: the fake Slack answers
``users.lookupByEmail`` for Eli and Ben, so they are matched by e-mail, Eli across Jira (his
display name) and GitHub (his login). ``users.conversations`` says which channels a viewer is in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack import ids
from bot.slack.answering.answers import Answers
from insights.findings import REVIEWER
from storage.people import personal_dms_on, users_with_dms
from tests.conftest import NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import TEAM_CHANNEL, BotHarness, demo_config, demo_runtime
from tests.test_people import answer_lookups

ELI = "U0ELI0001"
BEN = "U0BEN0001"
STRANGER = "U0NOBODY1"
MEMBER_ONLY = "U0WATCHER"
ELI_NAMES = ("eli novak", "eli-novak")
OTHER_NAMES = ("Amara", "amara-o", "Ben ", "blindqvist", "Chen", "chenwei", "Dana", "druiz")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        answer_lookups(slack, {"eli@example.com": ELI, "ben@example.com": BEN})
        memberships = {MEMBER_ONLY: [TEAM_CHANNEL]}

        def users_conversations(params: dict[str, Any]) -> dict[str, Any]:
            channels = [{"id": c} for c in memberships.get(params.get("user", ""), [])]
            return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

        slack._users_conversations = users_conversations  # type: ignore[attr-defined]
        yield slack


@pytest.fixture
def harness(fake: FakeSlack, tmp_path) -> Iterator[BotHarness]:
    bot = BotHarness(fake, demo_runtime(demo_config(fake), tmp_path))
    yield bot
    bot.close()


def eli_subjects(harness: BotHarness) -> list[Any]:
    """The merged findings naming Eli, worked out from the data, not from the bot's answer."""
    team = harness.runtime.config.teams[0]
    subjects = Answers(harness.runtime.engine).subjects(team, NOW)
    return [f for f in subjects if any(p.casefold() in ELI_NAMES for p in f.people)]


def keys_in(text: str) -> list[str]:
    return re.findall(r"\|(PAY-\d+)>", text)


def test_me_lists_only_the_callers_items_oldest_first(harness: BotHarness) -> None:
    expected = eli_subjects(harness)
    assert any(f.role == REVIEWER for f in expected), "a review waiting on Eli's GitHub login"

    reply = harness.reply("me", user=ELI)

    assert reply["response_type"] == "ephemeral"
    text = json.dumps(reply["blocks"])
    needs, also = text.split("Also yours")
    shown = keys_in(needs)
    assert sorted(shown) == sorted(f.subject for f in expected)
    snapshot = Answers(harness.runtime.engine).snapshot(harness.runtime.config.teams[0])
    assignees = {i.key: i.assignee for i in snapshot.items}
    assert keys_in(also) and all(assignees[k] == "Eli Novak" for k in keys_in(also))
    report = Answers(harness.runtime.engine).report(harness.runtime.config.teams[0], NOW)
    started = {i.key: i.started_at for i in report.items}
    starts = [started[k] for k in shown]
    assert starts == sorted(starts), "oldest first"
    assert "working day" in text
    for other in OTHER_NAMES:
        assert other not in text, other
    assert "<@" not in text and "rank" not in text.lower()


def test_me_answers_in_any_channel_and_stays_private(harness: BotHarness) -> None:
    in_dm = harness.reply("me share", user=BEN, channel="D0BEN0001", channel_name="directmessage")

    assert in_dm["response_type"] == "ephemeral", "share is ignored: it is personal"
    assert "PAY-368" in json.dumps(in_dm["blocks"])
    assert "Eli" not in json.dumps(in_dm["blocks"])


def test_me_tells_an_unmapped_person_how_to_get_mapped(harness: BotHarness) -> None:
    reply = harness.reply("me", user=STRANGER)

    text = json.dumps(reply["blocks"])
    assert "people:" in text and STRANGER in text and "email" in text
    assert keys_in(text) == []


def test_me_on_then_off_is_stored_and_confirmed(harness: BotHarness) -> None:
    engine = harness.runtime.engine
    assert not personal_dms_on(engine, ELI), "off until asked for"

    on = harness.reply("me on", user=ELI)
    assert on["response_type"] == "ephemeral" and on["text"].startswith("Done")
    assert users_with_dms(engine) == {ELI}
    assert "DMs are on" in json.dumps(harness.reply("me", user=ELI)["blocks"])

    off = harness.reply("me OFF", user=ELI)
    assert "no more personal direct messages" in off["text"]
    assert users_with_dms(engine) == set()


def test_bad_me_usage_is_answered_privately_in_the_ack(harness: BotHarness) -> None:
    response, _ = harness.command("me xyz", user=ELI)

    body = response.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "`xyz`" in body["text"] and "/vsm me" in body["text"]
    assert users_with_dms(harness.runtime.engine) == set()
    assert harness.fake.calls_to("response") == []


def test_help_lists_me(harness: BotHarness) -> None:
    assert "/vsm me" in json.dumps(harness.command("help")[0].json()["blocks"])


def open_home(harness: BotHarness, user: str) -> dict[str, Any]:
    before = len(harness.fake.calls_to("views.publish"))
    harness.event({"type": ids.APP_HOME_OPENED, "user": user, "tab": "home", "channel": "D0X"})
    publish = harness.fake.wait_for("views.publish", count=before + 1)[before]
    assert publish.params["user_id"] == user
    return dict(publish.params["view"])


def test_app_home_shows_the_viewers_team_and_their_items_only(harness: BotHarness) -> None:
    view = open_home(harness, ELI)

    text = json.dumps(view["blocks"])
    assert "payments" in text and "Needs you" in text
    assert set(keys_in(text)) <= {f.subject for f in eli_subjects(harness)}
    assert keys_in(text)
    for other in OTHER_NAMES:
        assert other not in text, other
    why = {
        e["value"]
        for b in view["blocks"]
        for e in [b.get("accessory") or {}]
        if e.get("action_id") == ids.EXPLAIN
    }
    assert why == {"wip|payments|", "throughput_items|payments|14", "cycle_time|payments|14"}


def test_app_home_shows_a_channel_members_team(harness: BotHarness) -> None:
    view = open_home(harness, MEMBER_ONLY)
    again = open_home(harness, MEMBER_ONLY)

    text = json.dumps(view["blocks"])
    assert "WIP" in text and "payments" in text
    assert keys_in(text) == [], "no one's items: this viewer is mapped to no name"
    assert "people:" in text, "says how to see what needs them"
    assert again == view
    assert len(harness.fake.calls_to("users.conversations")) == 1, "memberships remembered"


def test_app_home_of_a_stranger_says_how_to_start(harness: BotHarness) -> None:
    view = open_home(harness, STRANGER)

    text = json.dumps(view["blocks"])
    assert "Welcome" in text and "join your team's channel" in text and "people:" in text
    assert "WIP" not in text and "payments" not in text


def test_show_all_findings_lists_each_subject_once(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    answers = Answers(harness.runtime.engine)
    subjects, raw = answers.subjects(team, NOW), answers.findings(team, NOW)
    assert len(raw) > len(subjects), "the demo has items several detectors speak about"

    _, name = harness.click(ids.SHOW_ALL, "findings|payments|")
    reply = harness.fake.wait_for("response", name=name)[0].params

    lines = [
        line
        for block in reply["blocks"]
        for line in (block.get("text") or {}).get("text", "").split("\n")
        if line.startswith("\u2022")
    ]
    assert len(lines) == len(subjects)
