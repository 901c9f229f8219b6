"""Web API clients: pacing per channel, retries through the injected sleep, channel lookup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.answering.blocks import Message, section
from bot.slack.delivering.client import make_client
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import SEND_EVENT, ChannelDirectory, Poster, UncertainPost
from bot.slack.manifest import BOT_SCOPES
from tests.fake_slack import BOT_TOKEN, FakeSlack


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel("C0PUBLIC", "general", member=False)
        slack.add_channel("C0TEAM", "payments-flow")
        yield slack


def test_posts_to_one_channel_are_paced_to_one_per_second() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(clock=clock, sleep=clock.sleep)

    waits = [pacer.wait("C1") for _ in range(3)]

    assert waits == [0, 1.0, 1.0]
    assert clock.sleeps == [1.0, 1.0]


def test_channels_are_paced_independently() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(clock=clock, sleep=clock.sleep)

    assert [pacer.wait(c) for c in ("C1", "C2", "C3")] == [0, 0, 0]
    clock.now += 0.25
    assert pacer.wait("C1") == pytest.approx(0.75)


def test_a_poster_waits_between_posts_to_the_same_channel(fake: FakeSlack) -> None:
    clock = FakeClock()
    poster = Poster(
        make_client(fake.api_url, BOT_TOKEN), ChannelPacer(clock=clock, sleep=clock.sleep)
    )
    message = Message("hello", [section("hello")])

    for _ in range(3):
        poster.post("C0TEAM", message)
    poster.post("C0OTHER", message)

    assert clock.sleeps == [1.0, 1.0]
    assert len(fake.calls_to("chat.postMessage")) == 4


def test_server_errors_are_retried_with_backoff_through_the_injected_sleep(fake: FakeSlack) -> None:
    waits: list[float] = []
    client = make_client(fake.api_url, BOT_TOKEN, waits.append)
    fake.fail_next("conversations.info", status=503, retry_after=None, error="service_unavailable")

    response = client.conversations_info(channel="C0TEAM")

    assert response["ok"] is True
    assert [c.status for c in fake.calls_to("conversations.info")] == [503, 200]
    assert len(waits) == 1 and waits[0] > 0


@pytest.mark.parametrize("fault", ["dropped", "503"])
def test_the_client_never_retries_a_post_blindly(fake: FakeSlack, fault: str) -> None:
    client = make_client(fake.api_url, BOT_TOKEN, lambda seconds: None)
    if fault == "dropped":
        fake.interrupt_next("chat.postMessage", accept=True, answer=False)
    else:
        fake.fail_next(
            "chat.postMessage", status=503, retry_after=None, error="service_unavailable"
        )

    with pytest.raises((SlackApiError, ConnectionError)):
        client.chat_postMessage(channel="C0TEAM", text="hi")

    assert len(fake.calls_to("chat.postMessage")) == 1


KEY = {"team": "payments", "channel_id": "C0TEAM", "kind": "digest_daily", "period": "2026-11-25"}
SINCE = datetime.fromtimestamp(1_700_000_000, UTC)


@pytest.fixture
def keyed(fake: FakeSlack) -> Poster:
    waits: list[float] = []
    return Poster(
        make_client(fake.api_url, BOT_TOKEN, waits.append), ChannelPacer(0, sleep=waits.append)
    )


def test_a_keyed_post_whose_server_failed_is_looked_for_then_posted_once(fake, keyed) -> None:
    fake.fail_next("chat.postMessage", status=503, retry_after=None, error="service_unavailable")

    ts = keyed.post_once("C0TEAM", Message("hi", [section("hi")]), KEY, SINCE)

    (message,) = fake.posted("C0TEAM")
    assert ts == message["ts"]
    assert message["metadata"] == {"event_type": SEND_EVENT, "event_payload": KEY}
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [503, 200]
    (look,) = fake.calls_to("conversations.history")
    assert look.params["include_all_metadata"] in ("1", "true", True)
    assert float(look.params["oldest"]) < SINCE.timestamp()


def test_a_keyed_post_already_in_the_channel_is_found_not_posted(fake, keyed) -> None:
    first = keyed.post_once("C0TEAM", Message("hi", [section("hi")]), KEY, SINCE)
    other = {**KEY, "period": "2026-11-26"}
    keyed.post_once("C0TEAM", Message("hi", [section("hi")]), other, SINCE)

    again = keyed.post_once("C0TEAM", Message("hi", [section("hi")]), KEY, SINCE, look_first=True)

    assert again == first
    assert len(fake.posted("C0TEAM")) == 2


def test_the_manifest_asks_for_the_scopes_to_look_for_posts() -> None:
    assert {"channels:history", "groups:history", "im:history"} <= set(BOT_SCOPES)


def test_reading_a_public_channel_the_bot_is_not_in_joins_it_first(fake, keyed) -> None:
    assert keyed.find_sent("C0PUBLIC", KEY, SINCE) is None

    assert [c.reply.get("error") for c in fake.calls_to("conversations.history")] == [
        "not_in_channel",
        None,
    ]
    assert fake.calls_to("conversations.join")[0].params["channel"] == "C0PUBLIC"


def test_a_post_that_may_be_in_slack_when_nobody_can_look_is_uncertain(fake, keyed) -> None:
    fake.interrupt_next("chat.postMessage", accept=True, answer=False)
    for _ in range(3):
        fake.fail_next("conversations.history", status=503, error="service_unavailable")

    with pytest.raises(UncertainPost):
        keyed.post_once("C0TEAM", Message("hi", [section("hi")]), KEY, SINCE)

    assert len(fake.posted("C0TEAM")) == 1


def test_repeated_429s_give_up_after_three_retries(fake: FakeSlack) -> None:
    waits: list[float] = []
    client = make_client(fake.api_url, BOT_TOKEN, waits.append)
    for _ in range(5):
        fake.fail_next("chat.update", status=429, retry_after=2)

    with pytest.raises(Exception, match="ratelimited"):
        client.chat_update(channel="C0TEAM", ts="1.0", text="x")

    assert len(fake.calls_to("chat.update")) == 4
    assert all(2 <= w < 3 for w in waits) and len(waits) == 3


def test_channel_names_resolve_to_ids_once(fake: FakeSlack) -> None:
    client = make_client(fake.api_url, BOT_TOKEN)
    directory = ChannelDirectory()

    found = [directory.resolve(client, name) for name in ("#payments-flow", "payments-flow")]

    assert found == ["C0TEAM", "C0TEAM"]
    assert directory.resolve(client, "C0ALREADYID") == "C0ALREADYID"
    assert directory.resolve(client, "#nowhere") is None
    assert len(fake.calls_to("conversations.list")) == 2  # one for the names, one for #nowhere


def test_uploading_into_a_public_channel_joins_it_first_when_needed(fake: FakeSlack) -> None:
    poster = Poster(make_client(fake.api_url, BOT_TOKEN), ChannelPacer(interval=0))

    poster.upload("C0PUBLIC", b"\x89PNG...", "chart.png", "A chart", alt_text="a chart")

    completes = fake.calls_to("files.completeUploadExternal")
    assert [c.reply.get("error") for c in completes] == ["not_in_channel", None]
    assert fake.calls_to("conversations.join")[0].params["channel"] == "C0PUBLIC"
    assert list(fake.uploads.values())[-1] == b"\x89PNG..."
