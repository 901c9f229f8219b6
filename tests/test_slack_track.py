"""``/vsm track`` and ``/vsm untrack``: scopes tracked at runtime, beside app.yaml's.

Signed slash commands through the HTTP bot against the fake Slack: tracking stores the scope
and answers with its forecast, the report's ``scopes`` then include it (``vsm report --json``),
untracking removes it, app.yaml's scopes stay, bad input gets the usage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.slack.receiving.parser import Command, UsageError, parse_command
from storage.tracked_scopes import tracked_scopes
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, MEMBER, BotHarness, demo_config, demo_runtime

EPIC_ONLY = "    scopes:\n      - {epic: VAULT-1, name: Card vaulting, target: 2026-12-23}\n"
"""app.yaml's scopes in these tests: the demo's epic, so its release can be tracked from Slack."""


@pytest.fixture
def app_yaml(tmp_path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(re.sub(r"    scopes:\n(      - .*\n)+", EPIC_ONLY, DEMO_CONFIG.read_text()))
    return path


@pytest.fixture
def harness(fake: FakeSlack, tmp_path, app_yaml) -> Iterator[BotHarness]:
    config = demo_config(fake)
    payments = config.teams[0]
    epic = next(scope for scope in payments.scopes if scope.epic == "VAULT-1")
    team = payments.model_copy(update={"scopes": (epic,)})
    bot = BotHarness(fake, demo_runtime(config.model_copy(update={"teams": (team,)}), tmp_path))
    yield bot
    bot.close()


def report_scopes(harness: BotHarness, app_yaml: Path) -> list[dict]:
    """``scopes`` of ``vsm report --json`` on the bot's database."""
    database = str(harness.runtime.engine.url)
    result = CliRunner().invoke(
        cli,
        ["--config", str(app_yaml), "--database", database, "report", "--json"],
        obj=lambda: NOW,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["scopes"]


def blocks_of(reply: dict) -> str:
    return json.dumps(reply.get("blocks", []), ensure_ascii=False)


def test_tracking_a_release_answers_its_forecast_and_the_report_includes_it(
    harness: BotHarness, app_yaml: Path
) -> None:
    assert [s["key"] for s in report_scopes(harness, app_yaml)] == ["VAULT-1"]

    reply = harness.reply("track release 2.3 by 2027-01-15", user=ADMIN)

    assert reply["response_type"] == "ephemeral"
    shown = blocks_of(reply)
    assert (
        "Tracking release 2.3: the report, the digest and scope_at_risk now include it, "
        "target Fri 15 Jan 2027." in shown
    )
    assert "When will release 2.3 be done? · payments" in shown and "18 of 25 left" in shown
    (stored,) = tracked_scopes(harness.runtime.engine, "payments")
    assert (stored.kind, stored.key, stored.target, stored.added_by) == (
        "release",
        "2.3",
        date(2027, 1, 15),
        ADMIN,
    )
    epic, release = report_scopes(harness, app_yaml)
    assert epic["key"] == "VAULT-1"
    assert (release["kind"], release["key"], release["target"]) == ("release", "2.3", "2027-01-15")
    assert (release["done"], release["total"]) == (7, 25)


def test_without_a_date_a_release_is_due_on_its_fix_versions_date_and_share_posts_it(
    harness: BotHarness, app_yaml: Path
) -> None:
    reply = harness.reply("track release 2.3 share", user=ADMIN)

    assert reply["response_type"] == "in_channel"
    assert "target Wed 16 Dec 2026" in blocks_of(reply)
    assert report_scopes(harness, app_yaml)[1]["target"] == "2026-12-16"


def test_a_scope_without_items_is_tracked_and_says_so(harness: BotHarness) -> None:
    reply = harness.reply('track release "Mobile 9.1"', user=ADMIN)

    assert 'Tracking release "Mobile 9.1"' in reply["text"]
    assert "It has no items yet" in reply["text"]
    assert [s.key for s in tracked_scopes(harness.runtime.engine, "payments")] == ["Mobile 9.1"]


def test_track_alone_lists_app_yamls_scopes_and_slacks(harness: BotHarness) -> None:
    harness.reply("track release 2.3", user=ADMIN)

    shown = blocks_of(harness.reply("track", user=ADMIN))

    assert "Scopes payments tracks" in shown
    assert "*Card vaulting* (`epic VAULT-1`), target Wed 23 Dec 2026 · app.yaml" in shown
    assert (
        f"*release 2.3* (`release 2.3`), target Wed 16 Dec 2026 · tracked from Slack by <@{ADMIN}>"
        in shown
    )


def test_untrack_removes_a_scope_tracked_from_slack(harness: BotHarness, app_yaml: Path) -> None:
    harness.reply("track release 2.3", user=ADMIN)

    reply = harness.reply("untrack release 2.3", user=ADMIN)
    again = harness.reply("untrack release 2.3 share", user=ADMIN)

    assert "Done: payments no longer tracks `release 2.3`" in reply["text"]
    assert tracked_scopes(harness.runtime.engine, "payments") == []
    assert [s["key"] for s in report_scopes(harness, app_yaml)] == ["VAULT-1"]
    assert again["response_type"] == "ephemeral"
    assert "payments does not track `release 2.3`" in again["text"]


def test_app_yamls_scopes_are_changed_in_app_yaml_not_from_slack(harness: BotHarness) -> None:
    untrack = harness.reply("untrack epic vault-1", user=ADMIN)
    track = harness.reply("track epic VAULT-1 by 2027-02-01 share", user=ADMIN)

    assert "tracked in app.yaml" in untrack["text"] and "remove it" in untrack["text"]
    assert track["response_type"] == "ephemeral"
    assert "Card vaulting is tracked in app.yaml already" in track["text"]
    assert tracked_scopes(harness.runtime.engine, "payments") == []


def test_members_may_not_track_or_untrack(harness: BotHarness) -> None:
    for text in ("track release 2.3", "untrack release 2.3", "track"):
        reply = harness.reply(text, user=MEMBER)

        assert "Only the admins" in reply["text"]
    assert tracked_scopes(harness.runtime.engine, "payments") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('track release "Mobile 2.3', "or in double quotes"),
        ("track sprint 3", "Name the scope"),
        ("track release 2.3 by soon", "give a date as YYYY-MM-DD"),
        ("track release 2.3 freeze", "I did not understand `freeze`"),
        ("untrack", "Name the scope"),
        ("untrack filter mine", "Name the saved filter by its id"),
    ],
)
def test_bad_input_gets_the_usage_privately(harness: BotHarness, text: str, problem: str) -> None:
    response, _ = harness.command(text, user=ADMIN)

    answer = response.json()
    shown = json.dumps(answer)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert problem in shown and "Usage:" in shown
    assert tracked_scopes(harness.runtime.engine, "payments") == []


def test_a_date_not_after_today_is_refused(harness: BotHarness) -> None:
    reply = harness.reply("track release 2.3 by 2026-11-25 share", user=ADMIN)

    assert reply["response_type"] == "ephemeral"
    assert "2026-11-25 is not after today" in reply["text"]
    assert tracked_scopes(harness.runtime.engine, "payments") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("track", Command("track")),
        (
            "track release 2.3 by 2027-01-15 payments",
            Command("track", team="payments", kind="release", key="2.3", target=date(2027, 1, 15)),
        ),
        (
            "TRACK release \u201cMobile 2.3\u201d share",
            Command("track", share=True, kind="release", key="Mobile 2.3"),
        ),
        ("track epic pay-100", Command("track", kind="epic", key="PAY-100")),
        ("track filter 10042", Command("track", kind="filter", key="10042")),
        ("untrack label release-2.3", Command("untrack", kind="label", key="release-2.3")),
        ('untrack release "payments"', Command("untrack", kind="release", key="payments")),
    ],
)
def test_track_and_untrack_are_parsed(text: str, expected: Command) -> None:
    assert parse_command(text, ("payments", "checkout")) == expected


def test_untrack_needs_a_scope() -> None:
    result = parse_command("untrack payments", ("payments",))

    assert isinstance(result, UsageError) and result.command == "untrack"
