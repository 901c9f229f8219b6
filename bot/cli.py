"""The ``vsm`` command line: a click group whose commands live in ``bot/commands/``.

Each module there defines ``command`` (a click command); adding a command is adding a module.
Configuration problems exit with status 2 and a message naming the field path; a database or disk
that fails a command ends it with one line and status 1 (:class:`bot.cli_state.VsmGroup`).

The clock is injectable like everywhere else: whoever invokes the group may pass a clock as the
context object (``CliRunner().invoke(cli, args, obj=lambda: fixed_instant)``); the console script
reads the real one.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

import click
from rich.logging import RichHandler

import bot.commands
from bot.cli_state import CliState, VsmGroup, needs_name
from bot.runtime import utc_now


@click.group(cls=VsmGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(bot.commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"bot.commands.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            cli.add_command(command)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    cli()
