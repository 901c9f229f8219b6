"""What the GitHub and GitLab milestone tests share: one sync into a database, and its results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from bot.sync import SyncResult, pull_into
from insights.model import Plan, Snapshot
from integrations.base import Source


def sync_plans(
    engine: Engine,
    key: str,
    source: Source,
    now: Callable[[], datetime],
    stored: list[Plan] | None = None,
) -> SyncResult:
    """One sync of ``source`` (``key``: team/name) from its cursor; its plans into ``stored``."""
    team, name = key.split("/", 1)
    result = SyncResult(team, name, key)
    keep = (lambda _, page: stored.extend(page.plans)) if stored is not None else None
    pull_into(engine, key, source, now, result, keep)
    return result


def plans_of(snapshot: Snapshot, source: str) -> dict[str, Plan]:
    """The release plans of ``source`` in ``snapshot``, by name."""
    return {p.key: p for p in snapshot.plans if p.source == source}


def pr_releases(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """Each pull (merge) request's releases, by id."""
    return {pr.id: pr.releases for pr in snapshot.pull_requests()}
