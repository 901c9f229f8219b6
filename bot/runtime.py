"""The composition root: configuration, database engine and clock wired together once.

Commands, the scheduler and the Slack listeners all take a :class:`Runtime`; it owns the only
calls to the real clock, so everything below it takes ``now`` as a parameter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.config import AppConfig, TeamConfig
from storage.db import make_engine, upgrade


def utc_now() -> datetime:
    """The current instant, aware UTC (the only real clock read in vsm-bot)."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything a command needs: config, engine, clock and sleep."""

    config: AppConfig
    engine: Engine
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    extra: dict[str, object] = field(default_factory=dict)

    def team(self, name: str | None) -> TeamConfig:
        """The named team (or the only one)."""
        return self.config.team(name)


def open_runtime(
    config: AppConfig,
    *,
    database: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> Runtime:
    """Build a runtime for ``config``; apply migrations unless ``migrate`` is False."""
    engine = make_engine(database or config.database)
    if migrate:
        upgrade(engine)
    return Runtime(config=config, engine=engine, clock=clock)
