"""People across tools: names matched case-insensitively, e-mail lookups cached, `vsm people`.

The e-mail lookup runs against the fake Slack (``users.lookupByEmail`` answered by a handler set
on it): a found user is asked once for a week, "no such user" once for a day, and a Slack error
leaves the person not mapped without failing anything or logging the token.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from bot.config import PersonConfig
from bot.people import EmailLookup, People, names_in
from bot.slack.delivering.client import NoTokenError, make_client
from bot.sync import sync_teams
from insights.findings import ASSIGNEE, AUTHOR, REVIEWER, Finding, Severity
from storage.people import cached_lookup, save_lookup
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW
from tests.fake_slack import BOT_TOKEN, FakeSlack

ELI = PersonConfig(name="Eli Novak", slack="U0ELI0001", jira=("Eli Novak",), github=("eli-novak",))
BEN = PersonConfig(name="Ben Lindqvist", email="Ben@Example.com", github=("blindqvist",))
SLACK_USERS = {"ben@example.com": "U0BEN0001", "dana@example.com": "U0DANA001"}


def answer_lookups(fake: FakeSlack, users: dict[str, str]) -> None:
    """Make the fake Slack answer users.lookupByEmail from ``users`` (e-mail to user id)."""

    def lookup(params: dict[str, Any]) -> dict[str, Any]:
        user = users.get(str(params.get("email", "")).casefold())
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user, "profile": {"email": params["email"]}}}

    fake._users_lookupByEmail = lookup  # type: ignore[attr-defined]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        answer_lookups(slack, SLACK_USERS)
        yield slack


def lookup_at(sqlite_engine, fake: FakeSlack, when=NOW) -> EmailLookup:
    """A fresh lookup (as each card builds one) against the fake, at ``when``."""
    client = make_client(fake.api_url, BOT_TOKEN, lambda seconds: None)
    return EmailLookup(sqlite_engine, lambda: when, lambda: client)


def finding(*people: str) -> Finding:
    return Finding("aging_item", Severity.WARN, "PAY-1", "PAY-1 is old", "Look", "k", people=people)


def test_any_name_of_a_person_matches_across_tools_ignoring_case() -> None:
    people = People((ELI, BEN))

    for name in ("Eli Novak", "ELI NOVAK", "eli-novak", "Eli-Novak"):
        match = people.match(name)
        assert (match.person, match.slack_user) == (ELI, "U0ELI0001"), name
    assert people.match("BLINDQVIST").person == BEN
    assert people.match("Farah Haddad").person is None
    assert people.slack_users(["eli-novak", "Eli Novak", "fhaddad"]) == ["U0ELI0001"]


def test_who_mentions_the_mapped_and_names_the_others() -> None:
    people = People((ELI,))

    who = people.who(finding("eli-novak", "<!channel> fhaddad"))

    assert who.startswith("<@U0ELI0001>, ")
    assert "&lt;!channel&gt; fhaddad _(not mapped to Slack)_" in who
    assert "<!channel>" not in who
    assert "no one is mapped" in people.who(finding())
    team_finding = dataclasses.replace(finding(), subject="team")
    assert people.who(team_finding) == "the team"


def test_a_person_with_an_email_and_no_slack_id_is_found_by_email(sqlite_engine, fake) -> None:
    people = People((ELI, BEN), lookup_at(sqlite_engine, fake))

    assert people.match("blindqvist").slack_user == "U0BEN0001"
    assert people.match("Dana@example.com").slack_user == "U0DANA001", "a name that is an e-mail"
    assert people.match("Chen Wei").slack_user is None, "no e-mail, nothing to look up"
    asked = [c.params["email"] for c in fake.calls_to("users.lookupByEmail")]
    assert [e.casefold() for e in asked] == ["ben@example.com", "dana@example.com"]


def test_a_found_user_is_cached_for_a_week(sqlite_engine, fake) -> None:
    assert People((BEN,), lookup_at(sqlite_engine, fake)).match("blindqvist").slack_user

    six_days = lookup_at(sqlite_engine, fake, NOW + timedelta(days=6))
    assert People((BEN,), six_days).match("blindqvist").slack_user == "U0BEN0001"
    assert len(fake.calls_to("users.lookupByEmail")) == 1, "the second card asks no one"

    eight_days = lookup_at(sqlite_engine, fake, NOW + timedelta(days=8))
    assert People((BEN,), eight_days).match("blindqvist").slack_user == "U0BEN0001"
    assert len(fake.calls_to("users.lookupByEmail")) == 2


def test_no_such_user_is_cached_for_a_day(sqlite_engine, fake) -> None:
    nobody = "nobody@example.com"

    assert lookup_at(sqlite_engine, fake)(nobody) is None
    assert cached_lookup(sqlite_engine, nobody) == (None, NOW)
    assert lookup_at(sqlite_engine, fake, NOW + timedelta(hours=20))(nobody) is None
    assert len(fake.calls_to("users.lookupByEmail")) == 1

    answer_lookups(fake, {nobody: "U0NEWHIRE"})  # they joined Slack
    assert lookup_at(sqlite_engine, fake, NOW + timedelta(days=2))(nobody) == "U0NEWHIRE"


def test_one_lookup_asks_slack_once_per_address(sqlite_engine, fake) -> None:
    lookup = lookup_at(sqlite_engine, fake, NOW)
    people = People((BEN,), lookup)

    people.who(finding("blindqvist", "Ben Lindqvist", "BEN@example.com"))

    assert len(fake.calls_to("users.lookupByEmail")) == 1


def test_a_slack_error_leaves_the_person_not_mapped(sqlite_engine, fake, caplog) -> None:
    fake.fail_next("users.lookupByEmail", status=200, retry_after=None, error="missing_scope")

    with caplog.at_level(logging.WARNING):
        who = People((BEN,), lookup_at(sqlite_engine, fake)).who(finding("blindqvist"))

    assert who == "Ben Lindqvist _(not mapped to Slack)_"
    assert cached_lookup(sqlite_engine, "ben@example.com") is None, "an error is no answer"
    assert "missing_scope" in caplog.text
    assert BOT_TOKEN not in caplog.text and "ben@example.com" not in caplog.text.casefold()


def test_after_an_error_the_address_rests_before_slack_is_asked_again(sqlite_engine, fake) -> None:
    client = make_client(fake.api_url, BOT_TOKEN, lambda seconds: None)
    failed: dict = {}

    def lookup(minutes: int) -> EmailLookup:
        return EmailLookup(
            sqlite_engine, lambda: NOW + timedelta(minutes=minutes), lambda: client, failed
        )

    fake.fail_next("users.lookupByEmail", status=200, retry_after=None, error="missing_scope")
    assert lookup(0)("ben@example.com") is None
    assert lookup(10)("ben@example.com") is None, "not asked again at once"
    assert len(fake.calls_to("users.lookupByEmail")) == 1

    assert lookup(20)("ben@example.com") == "U0BEN0001"
    assert failed == {}


def test_an_error_keeps_the_last_known_user(sqlite_engine, fake) -> None:
    save_lookup(sqlite_engine, "ben@example.com", "U0BEN0001", NOW - timedelta(days=30))
    fake.fail_next("users.lookupByEmail", status=200, retry_after=None, error="internal_error")

    assert People((BEN,), lookup_at(sqlite_engine, fake)).match("blindqvist").slack_user == (
        "U0BEN0001"
    )


def test_an_unreachable_slack_or_no_token_maps_no_one(sqlite_engine) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = make_client(f"http://127.0.0.1:{port}/api/", BOT_TOKEN, lambda seconds: None)

    def no_token() -> Any:
        raise NoTokenError("no bot token for Slack workspace T1")

    for client in (lambda: closed, no_token):
        people = People((BEN,), EmailLookup(sqlite_engine, lambda: NOW, client))
        assert people.match("blindqvist").slack_user is None


def test_the_names_in_the_data_with_their_roles(demo_runtime) -> None:
    sync_teams(demo_runtime)
    team = demo_runtime.config.teams[0]

    names = names_in(load_snapshot(demo_runtime.engine, team.name, team.workflow))

    assert names["Eli Novak"] == (ASSIGNEE,)  # Jira
    assert set(names["eli-novak"]) == {ASSIGNEE, AUTHOR, REVIEWER}  # GitHub
    assert len({n.casefold() for n in names}) == len(names)


def run(runtime, *args: str, env: dict[str, str] | None = None, config=DEMO_CONFIG):
    db = str(runtime.engine.url)
    return CliRunner().invoke(
        cli,
        ["--config", str(config), "--database", db, "people", *args],
        obj=lambda: NOW,
        env={"COLUMNS": "200", **(env or {})},
    )


def test_vsm_people_lists_who_is_matched_and_who_is_not(demo_runtime) -> None:
    sync_teams(demo_runtime)
    save_lookup(demo_runtime.engine, "eli@example.com", "U0ELI0001", NOW)
    save_lookup(demo_runtime.engine, "ben@example.com", None, NOW)

    result = run(demo_runtime)

    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "U0ELI0001" in lines["eli-novak"] and "Eli Novak" in lines["eli-novak"]
    assert "no Slack user with ben@example.com" in lines["blindqvist"]
    assert "not looked up yet" in lines["chenwei"]
    assert "not matched" in lines["fhaddad"] and "not matched" in lines["Farah Haddad"]
    assert "10 matched, 2 not matched." in result.output
    assert "people:" in result.output


def test_vsm_people_names_an_unknown_team(demo_runtime) -> None:
    result = run(demo_runtime, "--team", "nope")
    assert result.exit_code == 2
    assert "no team named 'nope'" in result.output


def test_vsm_people_lookup_asks_slack_and_prints_names_literally(
    demo_runtime, fake, tmp_path
) -> None:
    sync_teams(demo_runtime)
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["slack"] = {"bot_token": "${SLACK_BOT_TOKEN}", "api_url": fake.api_url}
    config["people"][1]["name"] = "Ben [bold]Lind[/]qvist"
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))

    result = run(demo_runtime, "--lookup", env={"SLACK_BOT_TOKEN": BOT_TOKEN}, config=path)

    assert result.exit_code == 0, result.output
    assert "U0BEN0001" in result.output and "U0DANA001" in result.output
    assert "Ben [bold]Lind[/]qvist" in result.output
    assert cached_lookup(demo_runtime.engine, "amara@example.com") is not None
    assert len(fake.calls_to("users.lookupByEmail")) == 5, "each e-mail once"
