"""``vsm manifest``: print the Slack app manifest (YAML) to create or update the Slack app."""

from __future__ import annotations

import click

from bot.slack.manifest import manifest_yaml


@click.command("manifest")
@click.option(
    "--http",
    "public_url",
    metavar="URL",
    help="HTTP mode: the bot's public base URL (https://vsm.example.com). Default: Socket Mode.",
)
@click.option("--oauth", is_flag=True, help="HTTP mode: add the OAuth redirect URL and events.")
def command(public_url: str | None, oauth: bool) -> None:
    """Print the Slack app manifest generated from the commands, buttons and events the bot has."""
    if oauth and not public_url:
        raise click.UsageError("--oauth needs --http URL: the install flow runs over HTTP")
    click.echo(
        manifest_yaml(socket_mode=public_url is None, public_url=public_url, oauth=oauth), nl=False
    )
