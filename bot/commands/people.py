"""``vsm people``: who the names in the team's data are, and who is not matched yet.

Every name the stored data uses for people who can act (items' assignees, pull request authors,
reviewers) with the app.yaml person it belongs to and their Slack user: the configured id, or the
cached ``users.lookupByEmail`` answer. ``--lookup`` asks Slack for the ones not known yet (a bot
token is needed). Only the mapping is shown: no counts, rankings or scores of people. Names come
from vendors and app.yaml, so they are printed through :func:`bot.terminal.literal`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click
from rich.table import Table
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.cli_state import CliState, pass_state
from bot.config import AppConfig, TeamConfig
from bot.people import EmailLookup, Match, People, names_in
from bot.slack.delivering.client import make_client
from bot.terminal import literal
from storage.people import cached_lookup
from storage.snapshots import load_snapshot

HINT = (
    "Add a `people:` entry in app.yaml for each name not matched: name, slack (the user id) or "
    "email, and the names the tools use under jira, github or gitlab. With an email and no slack "
    "id, the bot finds the person by e-mail (`vsm people --lookup` checks now)."
)


@click.command("people")
@click.option("--team", help="The team (default: every team).")
@click.option("--lookup", is_flag=True, help="Ask Slack by e-mail for the people not known yet.")
@pass_state
def command(state: CliState, team: str | None, lookup: bool) -> None:
    """List the names in the team's data, and the person and Slack user each one maps to."""
    runtime = state.runtime()
    config = runtime.config
    teams = [state.team(team)] if team else list(config.teams)
    client = _client(state, config) if lookup else None
    people = People(config.people, EmailLookup(runtime.engine, runtime.clock, client))
    names = _names(runtime.engine, teams)
    matches = [(people.match(name), roles) for name, roles in names]
    title = "People in the data of " + ", ".join(t.name for t in teams)
    state.console.print(_table(title, matches, runtime.engine))
    matched = sum(1 for match, _ in matches if _matched(match))
    state.console.print(f"{matched} matched, {len(matches) - matched} not matched.")
    if matched < len(matches):
        state.console.print(literal(HINT))


def _client(state: CliState, config: AppConfig) -> Callable[[], WebClient] | None:
    """A client for ``--lookup`` (None, said so, without a bot token)."""
    token = config.slack.bot_token
    if token is None:
        state.console.print("--lookup needs a bot token (SLACK_BOT_TOKEN): showing cached answers.")
        return None
    web = make_client(config.slack.api_url, token.get_secret_value(), state.sleep)
    return lambda: web


def _names(engine: Engine, teams: Sequence[TeamConfig]) -> list[tuple[str, tuple[str, ...]]]:
    """The people's names in the teams' data with their roles, alphabetical (case-insensitive)."""
    seen: dict[str, tuple[str, dict[str, None]]] = {}
    for team in teams:
        snapshot = load_snapshot(engine, team.name, list(team.workflow))
        for name, roles in names_in(snapshot).items():
            seen.setdefault(name.casefold(), (name, {}))[1].update(dict.fromkeys(roles))
    return [(seen[key][0], tuple(seen[key][1])) for key in sorted(seen)]


def _matched(match: Match) -> bool:
    return match.person is not None or match.slack_user is not None


def _slack(match: Match, engine: Engine) -> str:
    """The Slack user, or why there is none."""
    if match.slack_user:
        return literal(match.slack_user)
    email = match.person.email if match.person is not None else None
    if email is None and "@" in match.name:
        email = match.name
    if email is None:
        return "[dim]no slack id or email[/]"
    if cached_lookup(engine, email) is None:
        return "[dim]not looked up yet (--lookup)[/]"
    return f"[yellow]no Slack user with {literal(email)}[/]"


def _table(title: str, matches: list[tuple[Match, tuple[str, ...]]], engine: Engine) -> Table:
    table = Table(title=literal(title), title_justify="left")
    for column in ("name in the data", "seen as", "person (app.yaml)", "Slack user"):
        table.add_column(column)
    for match, roles in matches:
        person = literal(match.person.name) if match.person is not None else "[red]not matched[/]"
        table.add_row(literal(match.name), ", ".join(roles), person, _slack(match, engine))
    return table
