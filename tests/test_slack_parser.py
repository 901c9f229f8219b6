"""The /vsm parser: every command's grammar, teams and ``share`` anywhere, usage on bad input."""

from __future__ import annotations

from datetime import date

import pytest

from bot.slack.receiving.parser import USAGES, Command, UsageError, parse_command

TEAMS = ("payments", "checkout")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("help chart", Command("help", topic="chart")),
        ("flow", Command("flow")),
        ("FLOW payments 4w", Command("flow", team="payments", window_days=28)),
        ("flow 30 share", Command("flow", share=True, window_days=30)),
        ("aging checkout", Command("aging", team="checkout")),
        ("share blocked", Command("blocked", share=True)),
        ("prs", Command("prs")),
        ("dora 90d payments", Command("dora", team="payments", window_days=90)),
        ("forecast when 25", Command("forecast", count=25)),
        (
            "forecast by 2026-12-31 checkout",
            Command("forecast", team="checkout", target=date(2026, 12, 31)),
        ),
        ("chart cfd 60d", Command("chart", chart="cfd", window_days=60)),
        ("chart forecast when 12", Command("chart", chart="forecast", count=12)),
        ("status", Command("status")),
        ("me", Command("me")),
        ("me checkout", Command("me", team="checkout")),
        ("ME On", Command("me", enabled=True)),
        ("me off", Command("me", enabled=False)),
        ("subscribe digest daily 9:05", Command("subscribe", kind="daily", at="09:05")),
        (
            "subscribe weekly Monday 17:00",
            Command("subscribe", kind="weekly", weekday="mon", at="17:00"),
        ),
        ("unsubscribe", Command("unsubscribe")),
        ("unsubscribe digest weekly", Command("unsubscribe", kind="weekly")),
        ("alerts off payments", Command("alerts", team="payments", enabled=False)),
        ("mute stale_item", Command("mute", detector="stale_item")),
        ("mute stale_item 14", Command("mute", detector="stale_item", days=14)),
    ],
)
def test_well_formed_commands(text: str, expected: Command) -> None:
    assert parse_command(text, TEAMS) == expected


@pytest.mark.parametrize(
    ("text", "nearest", "problem"),
    [
        ("flwo", "flow", "don't know the command `flwo`"),
        ("statsu", "status", "`statsu`"),
        ("flow 0d", "flow", "1 to 365 days"),
        ("flow soon", "flow", "`soon` is not a window"),
        ("aging payments checkout", "aging", "one team at most"),
        ("aging nowhere", "aging", "check its name"),
        ("forecast", "forecast", "`when N`"),
        ("forecast when many", "forecast", "number of items"),
        ("forecast by tomorrow", "forecast", "YYYY-MM-DD"),
        ("chart pie", "chart", "Choose a chart"),
        ("subscribe digest daily 25:00", "subscribe", "HH:MM"),
        ("subscribe digest weekly someday 09:00", "subscribe", "not a day"),
        ("subscribe digest hourly", "subscribe", "daily HH:MM"),
        ("alerts maybe", "alerts", "`alerts on`"),
        ("mute", "mute", "Name the detector"),
        ("me xyz", "me", "`me on` or `me off`"),
        ("me on off", "me", "`off`"),
        ("mute stale_item forever", "mute", "whole number"),
        ("help nothing", "help", "no command `nothing`"),
    ],
)
def test_malformed_input_names_the_nearest_command(text: str, nearest: str, problem: str) -> None:
    result = parse_command(text, TEAMS)

    assert isinstance(result, UsageError)
    assert result.command == nearest
    assert problem in result.problem


def test_gibberish_has_no_nearest_command() -> None:
    assert parse_command("xyzzy plugh", TEAMS) == UsageError(
        None, "I don't know the command `xyzzy`."
    )


def test_admin_commands_are_marked() -> None:
    admin = {name for name, usage in USAGES.items() if usage.admin}
    assert admin == {"subscribe", "unsubscribe", "alerts", "mute", "track", "untrack"}


def test_only_commands_with_required_arguments_refuse_a_bare_name() -> None:
    needs_arguments = {"forecast", "chart", "trace", "subscribe", "mute", "untrack"}
    for name in USAGES:
        parsed = parse_command(name, TEAMS)
        assert isinstance(parsed, UsageError) == (name in needs_arguments), name
