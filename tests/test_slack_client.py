"""Web API clients: pacing per channel, retries through the injected sleep, channel lookup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.slack.blocks import Message, section
from bot.slack.client import ChannelDirectory, ChannelPacer, Poster, make_client
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
    fake.fail_next("chat.postMessage", status=503, retry_after=None, error="service_unavailable")

    response = client.chat_postMessage(channel="C0TEAM", text="hi")

    assert response["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [503, 200]
    assert len(waits) == 1 and waits[0] > 0


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
