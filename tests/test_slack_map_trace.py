"""``/vsm map`` and ``/vsm trace``: parsed, answered with a message, the picture in its thread."""

from __future__ import annotations

import json

import pytest

from bot.slack.receiving.parser import Command, UsageError, parse_command
from tests.slack_harness import MEMBER, TEAM_CHANNEL, BotHarness, thread_upload

TEAMS = ("payments", "checkout")
MEMBER_DM = "D" + MEMBER.removeprefix("U")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("map", Command("map")),
        ("MAP payments 8w share", Command("map", team="payments", share=True, window_days=56)),
        ("trace PAY-12", Command("trace", key="PAY-12")),
        ("trace pay-12 checkout", Command("trace", team="checkout", key="PAY-12")),
        ("trace acme/api#7", Command("trace", key="acme/api#7")),
        ("trace group/sub/project!12", Command("trace", key="group/sub/project!12")),
        ("chart map 14d", Command("chart", chart="map", window_days=14)),
        ("chart trace Pay-3", Command("chart", chart="trace", key="PAY-3")),
    ],
)
def test_map_and_trace_are_parsed(text: str, expected: Command) -> None:
    assert parse_command(text, TEAMS) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("trace", "Name the item to trace"),
        ("trace PAY-0", "`PAY-0` is not an item key"),
        ("trace <!channel>", "is not an item key"),
        ("trace PAY-1 PAY-2", "I did not understand `PAY-2`"),
        ("map soon", "`soon` is not a window"),
        ("chart trace", "Name the item to trace"),
    ],
)
def test_bad_map_and_trace_input_gets_the_usage(text: str, problem: str) -> None:
    result = parse_command(text, TEAMS)

    assert isinstance(result, UsageError)
    assert result.command == text.split()[0]
    assert problem in result.problem


def test_map_is_posted_privately_with_the_picture_in_its_thread(harness: BotHarness) -> None:
    reply = harness.reply("map")

    assert "value stream of payments in a direct message" in reply["text"]
    post, complete = thread_upload(harness.fake, MEMBER_DM)
    posted = harness.fake.posted(MEMBER_DM)[0]
    assert complete["channel_id"] == MEMBER_DM
    assert complete["thread_ts"] == posted["ts"]
    assert post["text"].startswith("Value stream of payments: lead time p50")
    blocks = json.dumps(posted.get("blocks") or post["blocks"], ensure_ascii=False)
    assert "Where the time goes:" in blocks
    for step in ("Development", "Review", "Release"):
        assert f"*{step}*" in blocks
    upload = harness.fake.calls_to("upload")[0]
    assert upload.body.startswith(b"\x89PNG")
    get_url = harness.fake.calls_to("files.getUploadURLExternal")[0].params
    assert get_url["filename"].startswith("map-payments-")
    assert "Value stream map for payments" in get_url["alt_txt"]


def test_shared_map_goes_to_the_channel(harness: BotHarness) -> None:
    response, _ = harness.command("map 14d share")
    assert response.status_code == 200

    post, complete = thread_upload(harness.fake, TEAM_CHANNEL)

    assert complete["channel_id"] == TEAM_CHANNEL
    assert complete["thread_ts"] == harness.fake.posted(TEAM_CHANNEL)[0]["ts"]
    assert "last 14 days" in json.dumps(post["blocks"])


def test_trace_posts_the_journey_with_its_timeline_in_the_thread(harness: BotHarness) -> None:
    reply = harness.reply("trace pay-1")

    assert "journey of PAY-1 in a direct message" in reply["text"]
    post, complete = thread_upload(harness.fake, MEMBER_DM)
    assert complete["thread_ts"] == harness.fake.posted(MEMBER_DM)[0]["ts"]
    assert "PAY-1" in post["text"]
    get_url = harness.fake.calls_to("files.getUploadURLExternal")[0].params
    assert get_url["filename"].startswith("trace-payments-PAY-1-")
    assert harness.fake.calls_to("upload")[0].body.startswith(b"\x89PNG")


def test_an_unknown_item_is_answered_privately_even_when_shared(harness: BotHarness) -> None:
    reply = harness.reply("trace PAY-99999 share")

    assert reply["response_type"] == "ephemeral"
    assert "PAY-99999" in json.dumps(reply)
    assert harness.fake.calls_to("chat.postMessage") == []
    assert harness.fake.calls_to("files.completeUploadExternal") == []
