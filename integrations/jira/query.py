"""The JQL of a sync and the cursor it resumes from.

The cursor is ``{"v": 1, "updated": ISO-8601, "recent": {key: ISO-8601}}``: the highest
``updated`` among the issues of the pages stored so far, and the issues stored near it. A sync
asks for ``updated >= cursor - overlap`` in ``updated, key`` order.
JQL dates have minute precision and are read in the API user's time zone, so the bound is written
relative to the server's own clock (``updated >= "-95m"``), which needs no time zone at all; the
overlap absorbs the minute rounding, clock drift and Jira's eventually consistent search, and the
re-read issues are harmless because storage upserts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ORDER = "ORDER BY updated ASC, key ASC"
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
CURSOR_VERSION = 1
MAX_RECENT = 5000
"""Most issues a cursor remembers from the overlap window (a bulk edit can touch thousands)."""


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def base_jql(jql: str | None, project: str | None, team_projects: Sequence[str]) -> str:
    """The configured restriction: ``jql`` without its ORDER BY, else the project(s)."""
    if jql is not None:
        restriction = _ORDER_BY.split(jql, maxsplit=1)[0].strip()
        if not restriction:
            raise ValueError(
                f"jql {jql!r} has no search restriction (Jira Cloud refuses unbounded "
                "queries); write one such as 'project = PAY'"
            )
        return restriction
    if project is not None:
        return f"project = {_quote(project)}"
    if team_projects:
        return f"project in ({', '.join(_quote(p) for p in team_projects)})"
    raise ValueError(
        "nothing to search: set jql or project on the jira source, or projects on the team"
    )


def sync_jql(base: str, since: datetime | None, server_now: datetime, overlap_minutes: int) -> str:
    """The search of one sync: everything (no cursor) or what changed since the cursor."""
    if since is None:
        return f"{base} {ORDER}"
    behind = max(0.0, (server_now - since).total_seconds())
    minutes = math.ceil(behind / 60) + overlap_minutes
    return f"({base}) AND updated >= {_quote(f'-{minutes}m')} {ORDER}"


@dataclass(frozen=True)
class Cursor:
    """Where a sync resumes: the newest stored ``updated``, and the issues stored near it.

    ``recent`` maps the key of every issue stored with an ``updated`` inside the overlap window
    to that ``updated``. The next sync re-reads the window (Jira's search is eventually
    consistent, an issue indexed late must not be lost) but skips the issues it finds unchanged,
    so a sync with nothing new fetches no changelog and stores nothing.
    """

    updated: datetime | None = None
    recent: Mapping[str, str] = field(default_factory=dict)

    def known(self, key: str, updated: datetime | None) -> bool:
        """True when ``key`` was stored as of ``updated`` (nothing new to fetch)."""
        return updated is not None and self.recent.get(key) == _iso(updated)

    def advance(self, seen: Iterable[tuple[str, datetime]], window: timedelta) -> Cursor:
        """The cursor once the issues ``seen`` (key, updated) are stored."""
        recent = dict(self.recent)
        high = self.updated
        for key, updated in seen:
            recent[key] = _iso(updated)
            high = updated if high is None or updated > high else high
        if high is None:
            return self
        floor = high - window
        kept = {k: v for k, v in recent.items() if datetime.fromisoformat(v) >= floor}
        if len(kept) > MAX_RECENT:  # a bulk edit: re-reading the rest is harmless
            newest = sorted(kept.items(), key=lambda kv: datetime.fromisoformat(kv[1]))
            kept = dict(newest[-MAX_RECENT:])
        return Cursor(high, kept)

    def encode(self) -> str:
        """The cursor as stored (JSON)."""
        if self.updated is None:
            raise ValueError("an empty cursor is never stored")
        return json.dumps(
            {"v": CURSOR_VERSION, "updated": _iso(self.updated), "recent": dict(self.recent)}
        )

    @classmethod
    def decode(cls, cursor: str | None) -> Cursor:
        """Read a stored cursor (None: start from the beginning); ValueError if unreadable."""
        if cursor is None:
            return cls()
        try:
            state = json.loads(cursor)
            if state.get("v") != CURSOR_VERSION:
                raise ValueError(f"unknown cursor version {state.get('v')!r}")
            updated = datetime.fromisoformat(state["updated"])
            recent = state.get("recent", {})
            if not isinstance(recent, dict):
                raise TypeError("recent is not an object")
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"unreadable cursor {cursor!r}") from exc
        if updated.tzinfo is None:
            raise ValueError(f"cursor without a time zone: {cursor!r}")
        return cls(updated.astimezone(UTC), {str(k): str(v) for k, v in recent.items()})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")
