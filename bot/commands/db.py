"""``vsm db``: database maintenance (migrations)."""

from __future__ import annotations

import click

from bot.cli_state import CliState, pass_state
from storage.db import current_revision, make_engine, upgrade


@click.group("db")
def command() -> None:
    """Database maintenance."""


@command.command("upgrade")
@pass_state
def upgrade_command(state: CliState) -> None:
    """Apply every pending schema migration (also done automatically at start)."""
    config = state.config()
    engine = make_engine(state.database or config.database)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        click.echo(f"database already at revision {after}")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")
