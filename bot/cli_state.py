"""State shared by the ``vsm`` commands, and the one place where failures become messages.

Every command runs inside :class:`VsmGroup`: a database that cannot be reached, opened or
written, a file that cannot be written, or a database URL vsm cannot use ends the command with
one line saying what is wrong and what to do, never a traceback (``-vv`` logs it). The status
follows click: 1 for the environment, 2 for the command line and app.yaml.
"""

from __future__ import annotations

import errno
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.config import AppConfig, ConfigError, TeamConfig, load_config
from bot.redact import protect_logs, secret_values
from bot.runtime import Runtime, open_runtime, utc_now
from storage.db import DatabaseUrlError, normalize_url

CONFIG_ERROR_EXIT = 2
DATABASE_SETTING = "app.yaml database, --database or VSM_DATABASE_URL"
SQLITE_PROBLEMS = {
    "attempt to write a readonly database": "the database {file} is read-only: give the user "
    "running vsm write access to it and to its folder (SQLite writes files next to it), or use "
    "another database (" + DATABASE_SETTING + ")",
    "unable to open database file": "cannot open the database {file}: check that its folder "
    "exists and is writable, or use another database (" + DATABASE_SETTING + ")",
    "database is locked": "the database {file} is busy: another program holds its write lock; "
    "try again in a minute, and run one vsm process per SQLite file (several on PostgreSQL)",
    "file is not a database": "{file} is not an SQLite database: point the database URL at a "
    "vsm database, or at a new file to create one (" + DATABASE_SETTING + ")",
    "database or disk is full": "the disk holding the database {file} is full: free some space",
}
"""SQLite's error messages (a fragment each), and what to tell the person running vsm."""
OS_ADVICE = {
    errno.ENOSPC: "free some disk space",
    errno.EDQUOT: "free some disk space",
    errno.EACCES: "check its permissions",
    errno.EPERM: "check its permissions",
    errno.EROFS: "the file system is mounted read-only",
}
log = logging.getLogger(__name__)


@dataclass
class CliState:
    """Options of the ``vsm`` group, and the runtime built from them on first use."""

    config_path: Path
    database: str | None
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
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

    def database_url(self) -> str:
        """The database URL: ``--database`` (or VSM_DATABASE_URL), else app.yaml's."""
        return self.database or self.config().database

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
        """The runtime (config, migrated database, clock, sleep), built once."""
        if self._runtime is None:
            runtime = open_runtime(self.config(), database=self.database, clock=self.clock)
            runtime.sleep = self.sleep
            self._runtime = runtime
        return self._runtime


def fail_config(exc: ConfigError) -> NoReturn:
    """Print a configuration error and exit with status 2."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


pass_state = click.make_pass_decorator(CliState)


def server_unreachable(exc: BaseException, url: str) -> bool:
    """True when ``exc`` is a failure to connect to a database server (worth waiting for)."""
    return (
        isinstance(exc, OperationalError)
        and exc.statement is None  # raised while connecting, before any statement ran
        and make_url(normalize_url(url)).get_backend_name() != "sqlite"
    )


def database_problem(exc: DBAPIError, url: str) -> str | None:
    """One line on a database that cannot be reached, opened or written; None for other errors."""
    parsed = make_url(normalize_url(url))
    detail = next(iter(str(exc.orig).strip().splitlines()), type(exc.orig).__name__)
    if parsed.get_backend_name() == "sqlite":
        file = (parsed.database or "").removeprefix("file:")
        for fragment, problem in SQLITE_PROBLEMS.items():
            if fragment in detail:
                return problem.format(file=file)
        return None
    if not isinstance(exc, OperationalError):
        return None
    where = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
    if server_unreachable(exc, url):
        return f"cannot connect to {where} ({detail}): start it, or fix {DATABASE_SETTING}"
    return f"{where} failed ({detail}): check the server and its log, then try again"


def os_problem(exc: OSError, path: object) -> str:
    """``path: what went wrong; what to do`` for a file the system refused."""
    advice = OS_ADVICE.get(exc.errno or 0)
    return f"{path}: {exc.strerror or exc}" + (f"; {advice}" if advice else "")


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``; a refusal (full disk, permissions) is one line, status 1."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {os_problem(exc, path)}") from None


def _named(value: Path | None, example: str) -> Path | None:
    """``value``, unless it is empty (click reads ``''`` as the current folder)."""
    if value is not None and not value.name:
        raise click.BadParameter(f"needs a name, e.g. {example}")
    return value


def needs_name(example: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback refusing an empty path; ``example`` shows a good one."""
    return lambda ctx, param, value: _named(value, example)


def output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A click callback for a file to write: named, in a folder that exists (none is created)."""
    value = _named(value, f"{param.opts[0]} chart.png")
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(
            f"{value.parent} is not an existing folder; create it first, or write elsewhere"
        )
    return value


class VsmGroup(click.Group):
    """The ``vsm`` group: environment failures of any command end in one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning the failures vsm can explain into click errors."""
        try:
            return super().invoke(ctx)
        except DatabaseUrlError as exc:
            raise click.UsageError(f"{exc} ({DATABASE_SETTING})", ctx) from None
        except DBAPIError as exc:
            state = ctx.find_object(CliState)
            problem = None if state is None else database_problem(exc, state.database_url())
            if problem is None:
                raise
            log.debug("%s", problem, exc_info=exc)
            raise click.ClickException(problem) from None
        except OSError as exc:
            if exc.filename is None or exc.errno == errno.EPIPE:  # click handles a closed pipe
                raise
            log.debug("%s", exc, exc_info=exc)
            raise click.ClickException(os_problem(exc, exc.filename)) from None
