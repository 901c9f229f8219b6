"""The ``vsm`` command line: a click group whose commands live in ``bot/commands/``.

Each module there defines ``command`` (a click command); adding a command is adding a module.
The group lists the commands from the module names and imports only the one that runs (``vsm
--help`` imports them all, for their short help): ``vsm report`` never loads matplotlib or Slack.
Configuration problems exit with status 2 and a message naming the field path; a database or disk
that fails a command ends it with one line and status 1 (:class:`bot.cli_state.VsmGroup`).

The clock is injectable like everywhere else: whoever invokes the group may pass a clock as the
context object (``CliRunner().invoke(cli, args, obj=lambda: fixed_instant)``); the console script
reads the real one.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import click
from rich.logging import RichHandler

from bot.cli_state import CliState, VsmGroup, needs_name
from bot.commands import command_modules
from bot.runtime import utc_now


class LazyGroup(VsmGroup):
    """The ``vsm`` group: its commands are imported when named, not when the group is built."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names, from the modules of ``bot.commands`` (none is imported)."""
        return sorted(command_modules())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The named command, its module imported now; None for an unknown name."""
        module = command_modules().get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(f"bot.commands.{module}").command
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="VSM_CONFIG",
    default="app.yaml",
    show_default=True,
    type=click.Path(path_type=Path, dir_okay=False),
    callback=needs_name("--config app.yaml"),
    help="The app.yaml to use (env VSM_CONFIG).",
)
@click.option(
    "--database",
    envvar="VSM_DATABASE_URL",
    default=None,
    help="Database URL overriding app.yaml (env VSM_DATABASE_URL).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, database: str | None, verbose: int) -> None:
    """vsm-bot: flow and DORA metrics, delays and waste, told to your team in Slack."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(message)s", handlers=[RichHandler(show_path=False)], force=True
    )
    clock = ctx.obj if callable(ctx.obj) else utc_now
    ctx.obj = CliState(config_path=config_path, database=database, clock=clock)


def main() -> None:
    """Console-script entry point."""
    cli()
