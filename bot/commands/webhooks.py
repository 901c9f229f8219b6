"""``vsm webhooks``: per source, the webhook URL to register, its events and its secret's variable.

The base URL is where the vendors reach ``vsm serve`` from the internet: ``--base-url`` or
``VSM_PUBLIC_URL``. ``--install`` registers the GitHub and GitLab webhooks through their APIs
with each source's own token (:mod:`bot.webhooks.install`); Jira and PagerDuty are registered by
hand. Source names, vendor answers and app.yaml text are printed through
:func:`bot.terminal.literal`.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.config import read_yaml
from bot.terminal import literal
from bot.webhooks.install import install as install_hooks
from bot.webhooks.setup import (
    PUBLIC_URL_VARIABLE,
    VENDORS,
    WebhookSetup,
    suggested_variable,
    webhook_setups,
)

PLACEHOLDER = f"<{PUBLIC_URL_VARIABLE}>"
FINDING_THE_BASE_URL = (
    "The base URL is the public https address where `vsm serve` answers: with --http, the "
    "Slack app's Request URL without /slack/events; in Socket Mode, the address a reverse proxy "
    "or tunnel gives to `vsm serve --webhooks-port N`. Pass --base-url or set "
    f"{PUBLIC_URL_VARIABLE}."
)


def check_base_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An http(s) URL with a host (the vendors post to it), or None."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise click.BadParameter(
            "expected the public address of vsm serve, such as https://vsm.example.com"
        )
    return value.strip().rstrip("/")


def secret_text(setup: WebhookSetup) -> str:
    """Where the secret comes from, or what to add to app.yaml (Rich markup)."""
    suggested = "${" + suggested_variable(setup.config) + "}"
    if setup.written is None:
        return f"[yellow]not set: add webhook_secret: {literal(suggested)}[/yellow]"
    if not setup.variables:
        return (
            "[red]written in app.yaml: move it to the environment, webhook_secret: "
            f"{literal(suggested)}[/red]"
        )
    names = ", ".join(setup.variables)
    if setup.secret is None:
        return f"[yellow]env {literal(names)}, empty: export it[/yellow]"
    return f"env {literal(names)}"


def setup_table(setups: list[WebhookSetup]) -> Table:
    """One row per source: the URL, the events and the secret's variable."""
    table = Table(title="Webhooks to register", title_justify="left", show_lines=True)
    for column in ("source", "URL", "events", "secret"):
        table.add_column(column, overflow="fold")
    for setup in setups:
        table.add_row(
            literal(setup.key),
            literal(setup.url),
            literal(", ".join(setup.events)),
            secret_text(setup),
        )
    return table


def install_all(state: CliState, setups: list[WebhookSetup]) -> bool:
    """Register the GitHub and GitLab webhooks; print what was done; False if any failed."""
    table = Table(title="Installed", title_justify="left")
    for column in ("source", "repository", "result"):
        table.add_column(column, overflow="fold")
    done: set[tuple[str, str, str]] = set()
    ok = True
    for setup in setups:
        if not setup.vendor.installable:
            table.add_row(literal(setup.key), "", f"by hand: {literal(setup.config.type)} (above)")
            continue
        if setup.secret is None:
            table.add_row(literal(setup.key), "", "[yellow]skipped: no webhook_secret[/yellow]")
            continue
        for outcome in install_hooks(setup, state.clock, done, state.sleep):
            if outcome.problem is not None:
                ok = False
                result = f"[red]failed: {literal(outcome.problem)}[/red]"
            else:
                result = f"[green]{outcome.action}[/green]"
            table.add_row(literal(setup.key), literal(outcome.target), result)
    state.console.print(table)
    return ok


@click.command("webhooks")
@click.option("--team", help="Only this team's sources.")
@click.option(
    "--base-url",
    envvar=PUBLIC_URL_VARIABLE,
    callback=check_base_url,
    help=f"The public address of vsm serve, such as https://vsm.example.com (env "
    f"{PUBLIC_URL_VARIABLE}).",
)
@click.option(
    "--install",
    is_flag=True,
    help="Register the GitHub and GitLab webhooks through their APIs with each source's token.",
)
@pass_state
def command(state: CliState, team: str | None, base_url: str | None, install: bool) -> None:
    """Print each source's webhook URL, events and secret variable; --install registers them."""
    config = state.config()
    team_name = state.team_name(team)
    if install and base_url is None:
        raise click.UsageError(f"--install needs the base URL. {FINDING_THE_BASE_URL}")
    raw = read_yaml(state.config_path.read_text(encoding="utf-8-sig"))
    setups = webhook_setups(config, raw, base_url or PLACEHOLDER, team_name)
    if not setups:
        click.echo("No source with webhooks (jira, github, gitlab, pagerduty) is configured.")
        return
    state.console.print(setup_table(setups))
    for kind in dict.fromkeys(setup.config.type for setup in setups):
        state.console.print(f"[bold]{kind}[/bold]: {literal(VENDORS[kind].where)}")
    if base_url is None:
        state.console.print(f"[yellow]note[/yellow] {literal(FINDING_THE_BASE_URL)}")
    if install and not install_all(state, setups):
        sys.exit(1)
