"""Property-based: whatever follows ``/vsm``, the bot replies helpfully and never raises.

Texts mix real command words, arguments, team names, numbers, dates, times, SQL and Slack
markup, quotes, control characters and arbitrary Unicode. The parser always gives a command or
the usage of the nearest command; the ack always carries a reply Slack accepts (or hands over to
the worker); and carrying a command out always ends in a reply (9,000 examples in all).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from bot.charts import CHART_KINDS
from bot.config import AppConfig
from bot.slack.answering.blocks import Message
from bot.slack.answering.render import render_usage
from bot.slack.deps import build_deps
from bot.slack.receiving.handlers import Invocation, run_command
from bot.slack.receiving.listeners.commands import handle_vsm
from bot.slack.receiving.parser import MAX_WINDOW_DAYS, USAGES, Command, UsageError, parse_command
from tests.fake_slack import MAX_MESSAGE_BLOCKS, FakeSlack, block_problem
from tests.slack_harness import ADMIN, MEMBER, TEAM_CHANNEL, demo_config, demo_runtime

TEAMS = ("payments", "platform", "Pay'ments")
WORDS = st.sampled_from(
    [
        *USAGES,
        *CHART_KINDS,
        *TEAMS,
        "share",
        "digest",
        "daily",
        "weekly",
        "when",
        "by",
        "on",
        "off",
        "mon",
        "friday",
        "09:30",
        "24:00",
        "9:5",
        "14d",
        "4w",
        "0d",
        "400",
        "-3",
        "2026-12-31",
        "2026-02-30",
        "stale_item",
        "'; DROP TABLE slack_subscriptions; --",
        "1 OR 1=1",
        '"quoted"',
        "<!channel>",
        "<@U123|bob>",
        "&amp;",
        "flwo",
        "subscirbe",
        "🦄",
        "\u202e",
        "\x00",
    ]
)
TEXTS = st.one_of(
    st.lists(WORDS, max_size=8).map(" ".join),
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6).map(" ".join),
    st.text(max_size=200),
)
SLOW_COMMANDS = {"chart", "forecast", "map", "trace"}
"""They draw (map and trace post a picture in a thread): tests/test_slack_map_trace.py."""
COMMAND_TEXTS = st.tuples(
    st.sampled_from(sorted(set(USAGES) - SLOW_COMMANDS)), st.lists(WORDS, max_size=5)
).map(lambda parts: " ".join([parts[0], *parts[1]]))


def assert_sendable(reply: Message | dict[str, Any]) -> None:
    """What Slack would accept: text, and blocks within its limits."""
    kwargs = reply.as_kwargs() if isinstance(reply, Message) else reply
    assert kwargs["text"].strip()
    assert block_problem(kwargs.get("blocks") or [], MAX_MESSAGE_BLOCKS) is None


@settings(max_examples=6000, deadline=None)
@given(TEXTS)
def test_any_text_parses_to_a_command_or_the_nearest_usage(text: str) -> None:
    parsed = parse_command(text, TEAMS)

    if isinstance(parsed, Command):
        assert parsed.name in USAGES
        assert parsed.team is None or parsed.team in TEAMS
        assert parsed.window_days is None or 1 <= parsed.window_days <= MAX_WINDOW_DAYS
        return
    assert isinstance(parsed, UsageError)
    assert parsed.problem.strip()
    message = render_usage(parsed.command, parsed.problem)
    assert_sendable(message)
    if parsed.command is None:
        assert "help" in message.text
    else:
        assert USAGES[parsed.command].syntax in message.text


class Ack:
    """Records what the listener acknowledged with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


class Deps:
    """Just enough of SlackDeps for the ack path: the teams, and a recorder for handed-over work."""

    def __init__(self, config: Any) -> None:
        self.runtime = type("R", (), {"config": config})()
        self.handed_over: list[Any] = []

    def run_later(self, work: Any, *args: Any) -> None:
        self.handed_over.append(args[1])


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture(scope="module")
def config(fake) -> AppConfig:
    return demo_config(fake)


@settings(max_examples=2500, deadline=None)
@given(TEXTS)
def test_the_ack_always_replies_or_hands_over(config: AppConfig, text: str) -> None:
    deps = Deps(config)
    ack = Ack()

    handle_vsm(deps, ack, {"text": text, "user_id": MEMBER, "channel_id": TEAM_CHANNEL}, None, None)

    assert len(ack.calls) == 1, "acked exactly once"
    (kwargs,) = ack.calls
    if kwargs:
        assert_sendable(kwargs)
    else:
        (handed,) = deps.handed_over
        assert isinstance(handed, Command)


@pytest.fixture(scope="module")
def deps(fake, tmp_path_factory) -> Iterator[Any]:
    runtime = demo_runtime(demo_config(fake), tmp_path_factory.mktemp("properties"))
    services = build_deps(runtime)
    yield services
    services.workers.shutdown(wait=True)
    runtime.engine.dispose()


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(COMMAND_TEXTS, TEXTS),
    st.sampled_from([ADMIN, MEMBER]),
    st.sampled_from([TEAM_CHANNEL, "C0OTHERCH", "D0DIRECT1"]),
)
def test_carrying_out_any_command_ends_in_a_reply(deps, text, user, channel) -> None:
    parsed = parse_command(text, [t.name for t in deps.runtime.config.teams])
    if not isinstance(parsed, Command) or parsed.name in SLOW_COMMANDS:
        return  # usage errors are the ack's (above); charts and forecasts have their own tests
    replies: list[dict[str, Any]] = []
    who = Invocation(user_id=user, channel_id=channel, channel_name=None, workspace_id="T1")

    run_command(deps, parsed, who, lambda **kwargs: replies.append(kwargs), None)

    (reply,) = replies
    assert_sendable(reply)
    assert "failed on my side" not in reply["text"], reply["text"]
    assert set(inspect(deps.runtime.engine).get_table_names()) >= {
        "slack_subscriptions",
        "slack_mutes",
        "slack_sends",
    }
