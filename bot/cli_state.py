"""State shared by the ``vsm`` commands: the chosen app.yaml, database and runtime."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from bot.config import AppConfig, ConfigError, TeamConfig, load_config
from bot.redact import protect_logs, secret_values
from bot.runtime import Runtime, open_runtime, utc_now

CONFIG_ERROR_EXIT = 2


@dataclass
class CliState:
    """Options of the ``vsm`` group, and the runtime built from them on first use."""

    config_path: Path
    database: str | None
    clock: Callable[[], datetime] = utc_now
    console: Console = field(default_factory=Console)
    _runtime: Runtime | None = None

    def config(self) -> AppConfig:
        """The validated app.yaml (exits with status 2 when invalid)."""
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            fail_config(exc)
        protect_logs(secret_values(config))  # every command's logs, even with -vv
        return config

    def team_name(self, name: str | None) -> str | None:
        """Check that ``name`` (if given) is a configured team; exit with status 2 if not."""
        if name is not None:
            self.team(name)
        return name

    def team(self, name: str | None) -> TeamConfig:
        """The named team (or the only one); a usage error (status 2) if there is none."""
        try:
            return self.config().team(name)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--team") from None

    def runtime(self) -> Runtime:
        """The runtime (config, migrated database, clock), built once."""
        if self._runtime is None:
            self._runtime = open_runtime(self.config(), database=self.database, clock=self.clock)
        return self._runtime


def fail_config(exc: ConfigError) -> NoReturn:
    """Print a configuration error and exit with status 2."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


pass_state = click.make_pass_decorator(CliState)
