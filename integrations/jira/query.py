"""The JQL of a sync and the cursor it resumes from.

The cursor is ``{"v": 1, "fields": 2, "updated": ISO-8601, "recent": {key: ISO-8601},
"reconciled": {...}, "projects": [key...]}``: which fields the stored issues were read with
(:data:`~integrations._cursor.FIELDS`), the highest ``updated`` among the issues of the pages
stored so far, the issues stored near it, (once the live issues were listed) when that was and
the newest issue id and issue number per project it saw, and the project of every issue stored
(whose versions a sync reads). A sync asks for ``updated >= cursor - overlap`` in ``updated, key``
order. Cursors stored before ``reconciled`` existed read as never reconciled; those stored before
``projects`` existed know the projects of their recent issues and of their last listing; those
stored before ``fields`` existed read as fields 1 (issues stored without fix versions and due
date: :meth:`Cursor.reread` starts the one sync that reads them all again).
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from integrations._cursor import FIELDS

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


def listing_jql(base: str) -> str:
    """The search of a reconciliation: every issue in scope (asked for its key only)."""
    return f"{base} ORDER BY key ASC"


def reread_jql(base: str, keys: Iterable[str]) -> str:
    """The search that reads the issues ``keys`` in full (ones the updated search cannot see)."""
    return f"({base}) AND key in ({', '.join(_quote(k) for k in keys)}) {ORDER}"


def filter_jql(jql: str) -> str | None:
    """The key-only search of a saved filter's JQL (its ORDER BY dropped); None when unbounded."""
    restriction = _ORDER_BY.split(jql, maxsplit=1)[0].strip()
    return f"({restriction}) ORDER BY key ASC" if restriction else None


def split_key(key: str) -> tuple[str, int] | None:
    """``("PAY", 12)`` for ``PAY-12``; None for anything else."""
    project, _, number = key.rpartition("-")
    return (project, int(number)) if project and number.isdigit() else None


def sync_jql(base: str, since: datetime | None, server_now: datetime, overlap_minutes: int) -> str:
    """The search of one sync: everything (no cursor) or what changed since the cursor."""
    if since is None:
        return f"{base} {ORDER}"
    behind = max(0.0, (server_now - since).total_seconds())
    minutes = math.ceil(behind / 60) + overlap_minutes
    return f"({base}) AND updated >= {_quote(f'-{minutes}m')} {ORDER}"


@dataclass(frozen=True)
class Reconciliation:
    """When the live issues were last listed, and the newest issue id and numbers seen then.

    Jira gives ids and per-project numbers in creation order, and a moved issue keeps its id but
    takes the next number of its new project. So an issue listed later whose id was known then
    but whose number is above its project's (or whose project had none in scope) came into the
    scope without being created: moved in, or its project added to the scope. The updated
    search may never see it; :meth:`moved_in` finds it.
    """

    at: datetime
    max_id: int = 0
    numbers: Mapping[str, int] = field(default_factory=dict)

    def moved_in(self, issue_id: str, key: str) -> bool:
        """True when the issue ``issue_id``/``key`` existed then, but not under this key."""
        parts = split_key(key)
        if parts is None or not issue_id.isdigit() or int(issue_id) > self.max_id:
            return False
        known = self.numbers.get(parts[0])
        return known is None or parts[1] > known

    def encode(self) -> dict[str, object]:
        """The reconciliation as stored in the cursor."""
        return {"at": _iso(self.at), "max_id": self.max_id, "numbers": dict(self.numbers)}

    @classmethod
    def decode(cls, state: object) -> Reconciliation:
        """Read :meth:`encode`'s form; ValueError when it is not that."""
        try:
            if not isinstance(state, dict):
                raise TypeError("reconciled is not an object")
            at = datetime.fromisoformat(state["at"])
            numbers = {str(k): int(v) for k, v in state.get("numbers", {}).items()}
            max_id = int(state.get("max_id", 0))
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            raise ValueError(f"unreadable reconciliation {state!r}") from exc
        if at.tzinfo is None:
            raise ValueError(f"reconciliation time without a time zone: {state!r}")
        return cls(at.astimezone(UTC), max_id, numbers)


@dataclass
class Listing:
    """The live issues a search saw: their keys, the newest issue id and number per project.

    ``keys`` is None when only the newest id and numbers matter (a backfill: it reads every issue
    anyway, and 100,000 keys would weigh on its memory).
    """

    keys: set[str] | None = field(default_factory=set)
    max_id: int = 0
    numbers: dict[str, int] = field(default_factory=dict)

    def add(self, issue_id: str, key: str) -> None:
        """Count the issue ``issue_id`` (Jira's numeric id) as live under ``key``."""
        if self.keys is not None:
            self.keys.add(key)
        if issue_id.isdigit():
            self.max_id = max(self.max_id, int(issue_id))
        parts = split_key(key)
        if parts is not None:
            self.numbers[parts[0]] = max(self.numbers.get(parts[0], 0), parts[1])

    def reconciliation(self, at: datetime, previous: Reconciliation | None) -> Reconciliation:
        """What the cursor remembers of this listing made at ``at`` (after ``previous``)."""
        numbers = dict(previous.numbers) if previous is not None else {}
        for project, number in self.numbers.items():
            numbers[project] = max(numbers.get(project, 0), number)
        max_id = max(self.max_id, previous.max_id if previous is not None else 0)
        return Reconciliation(at, max_id, numbers)


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
    reconciled: Reconciliation | None = None
    """The last listing of the live issues (None: never listed)."""
    projects: frozenset[str] = frozenset()
    """The project keys of the issues stored so far."""
    fields: int = FIELDS
    """The fields the stored issues were read with (1: before fix versions and due dates)."""

    def reread(self) -> Cursor:
        """Where a sync reading every issue again starts: no position, listing and projects kept."""
        return Cursor(reconciled=self.reconciled, projects=self.projects)

    def known(self, key: str, updated: datetime | None) -> bool:
        """True when ``key`` was stored as of ``updated`` (nothing new to fetch)."""
        return updated is not None and self.recent.get(key) == _iso(updated)

    def advance(self, seen: Iterable[tuple[str, datetime]], window: timedelta) -> Cursor:
        """The cursor once the issues ``seen`` (key, updated) are stored."""
        recent = dict(self.recent)
        high = self.updated
        projects = self.known_projects()  # a cursor stored before ``projects`` learns them here
        for key, updated in seen:
            recent[key] = _iso(updated)
            high = updated if high is None or updated > high else high
            parts = split_key(key)
            if parts is not None:
                projects.add(parts[0])
        if high is None:
            return self
        floor = high - window
        kept = {k: v for k, v in recent.items() if datetime.fromisoformat(v) >= floor}
        if len(kept) > MAX_RECENT:  # a bulk edit: re-reading the rest is harmless
            newest = sorted(kept.items(), key=lambda kv: datetime.fromisoformat(kv[1]))
            kept = dict(newest[-MAX_RECENT:])
        return replace(self, updated=high, recent=kept, projects=frozenset(projects))

    def known_projects(self) -> set[str]:
        """Every project this cursor knows an issue of (stored, recent or listed)."""
        known = set(self.projects)
        known.update(parts[0] for parts in map(split_key, self.recent) if parts is not None)
        if self.reconciled is not None:
            known.update(self.reconciled.numbers)
        return known

    def stored_since(self, since: datetime) -> set[str]:
        """Keys of the issues stored with an ``updated`` at ``since`` or later."""
        return {k for k, v in self.recent.items() if datetime.fromisoformat(v) >= since}

    def reconciliation_due(self, now: datetime, every: timedelta) -> bool:
        """True when the live issues were never listed, or last listed ``every`` ago or more."""
        return self.reconciled is None or now - self.reconciled.at >= every

    def encode(self) -> str:
        """The cursor as stored (JSON)."""
        if self.updated is None:
            raise ValueError("an empty cursor is never stored")
        state: dict[str, object] = {
            "v": CURSOR_VERSION,
            "fields": self.fields,
            "updated": _iso(self.updated),
            "recent": dict(self.recent),
        }
        if self.reconciled is not None:
            state["reconciled"] = self.reconciled.encode()
        if self.projects:
            state["projects"] = sorted(self.projects)
        return json.dumps(state)

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
            reconciled = state.get("reconciled")
            last = None if reconciled is None else Reconciliation.decode(reconciled)
            projects = state.get("projects", [])
            if not isinstance(projects, list):
                raise TypeError("projects is not a list")
            fields = state.get("fields", 1)  # cursors stored before fix versions and due dates
            if not isinstance(fields, int) or isinstance(fields, bool):
                raise TypeError("fields is not a number")
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"unreadable cursor {cursor!r}") from exc
        if updated.tzinfo is None:
            raise ValueError(f"cursor without a time zone: {cursor!r}")
        recent = {str(k): str(v) for k, v in recent.items()}
        return cls(updated.astimezone(UTC), recent, last, frozenset(map(str, projects)), fields)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")
