"""A fake Jira, Cloud or Data Center: a real HTTP server on loopback for tests and benchmarks.

The payloads follow Atlassian's REST documentation: ``/serverInfo``, ``/field`` and ``/status``
come from ``fixtures/jira``; issues are rendered with the fields a real site sends (status with its
category, users with avatars, issue links, custom fields for Flagged, story points and, on Data
Center, Epic Link). Cloud serves the enhanced search (``/rest/api/3/search/jql``, token pages,
at most ``cloud_page_cap`` issues per page when fields are asked for, a changelog truncated to 20
entries when expanded), the bulk changelog (``/rest/api/3/changelog/bulkfetch``, at most 1,000
issues, ``bulk_page_cap`` histories a page) and the approximate count; a search asking only for
``id`` or ``key`` gets up to ``cloud_key_page_cap`` (5,000) issues a page; the removed
``/rest/api/{2,3}/search`` answers 410. Data Center serves ``/rest/api/2/search`` (``startAt``
pages capped at ``dc_page_cap``, changelogs embedded and truncated after ``dc_inline_histories``)
and ``/rest/api/2/issue/{key}?expand=changelog``. Both serve a project's versions
(``/project/{key}/versions``: ``add_version``, ``set_release_date``, ``delete_version``) and
saved filters (``/filter/{id}``: ``add_filter``, ``delete_filter``); issues carry
``fixVersions`` (the version objects, as Jira embeds them) and ``duedate``.

Tests steer it: ``add_fault`` (429 with Retry-After, 500s), ``latency``, ``on_request`` (change
the data at an exact point of a sync), the request log, and the data helpers ``move``, ``flag``,
``assign``, ``add_status`` (a team-managed project's own status, whose name may repeat another's),
``move_issue`` (to another project: a new key, the old one still resolves, as Jira keeps
historical keys) and ``delete_issue``. JQL understands ``project =``, ``project in``,
``issuetype``, ``status`` (``=``, ``!=``), ``fixVersion =``, ``updated >= "-Nm"`` and
``key in (...)`` (an unknown key is a 400, as in Jira). Only the standard library is used, so
``python tests/fake_jira.py`` runs it stand-alone (the benchmark does), with ``GET /_fake/stats``
reporting the request counts.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import gzip
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jira"
EMAIL, API_TOKEN, PAT = "bot@acme.example", "cloud-api-token-s3cr3t", "dc-pat-s3cr3t"
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
TYPES = {"Story": "10001", "Bug": "10004", "Task": "10002", "Epic": "10000", "Sub-task": "10003"}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}
FIELD_IDS = {
    "cloud": {"flagged": "customfield_10021", "points": "customfield_10016", "epic": None},
    "datacenter": {
        "flagged": "customfield_10100",
        "points": "customfield_10106",
        "epic": "customfield_10101",
    },
}
WORKFLOW = {
    "Backlog": "backlog",
    "Selected for Development": "waiting",
    "In Progress": "active",
    "Code Review": "active",
    "Ready for QA": "waiting",
    "QA": "active",
    "Blocked": "blocked",
    "Done": "done",
    "Won't Do": "cancelled",
}
"""The team workflow the tests use: Triage and In Design are deliberately left out."""
CLOUD_INLINE_HISTORIES = 20
BULK_MAX_ISSUES = 1000
GZIP_ABOVE = 1024
"""Bodies longer than this are gzip-compressed when the client accepts it, as Jira Cloud does."""


class RawJson(str):
    """A body already serialized (the bulk changelog's thousands of histories, built fast)."""


class ApiError(Exception):
    """An error answer: status code and Jira's ``errorMessages`` body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass(slots=True)
class Change:
    """One changelog history: its id, instant and items (Cloud shape, with ``fieldId``)."""

    id: int
    at: datetime
    items: tuple[dict[str, Any], ...]
    raw_created: Any = None


@dataclass
class Issue:
    """An issue as the fake stores it; rendered to Jira JSON on each request."""

    id: int
    key: str
    type: str
    summary: str
    created: datetime
    status: str = "Backlog"
    updated: datetime | None = None
    resolution: str | None = None
    resolved: datetime | None = None
    assignee: str | None = None
    priority: str | None = "Medium"
    labels: list[str] = field(default_factory=list)
    parent: str | None = None
    story_points: float | None = None
    flagged: bool = False
    blocked_by: list[str] = field(default_factory=list)
    fix_versions: list[str] = field(default_factory=list)
    due: date | None = None
    changes: list[Change] = field(default_factory=list)
    broken: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.updated = self.updated or self.created
        project, number = self.key.rsplit("-", 1)
        self.sort_key = (project, int(number))


@dataclass
class Request:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class Fault:
    """Answer ``status`` to the next ``times`` requests whose path contains ``path``."""

    path: str
    status: int
    times: int = 1
    skip: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def credentials(deployment: str) -> dict[str, str]:
    """The app.yaml auth settings the fake accepts for ``deployment``."""
    if deployment == "cloud":
        return {"email": EMAIL, "api_token": API_TOKEN}
    return {"token": PAT}


def jira_time(at: datetime, tz: timezone) -> str:
    """Jira's timestamp format: ``2026-11-25T17:00:00.000+0100``."""
    text = at.astimezone(tz).isoformat(timespec="milliseconds")
    return text[:-3] + text[-2:]  # +01:00 -> +0100


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant from the scenario file, in UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class FakeJira:
    """The fake site's data and behaviour; :meth:`start` serves it on 127.0.0.1."""

    def __init__(
        self,
        deployment: str = "cloud",
        *,
        now: datetime | None = None,
        tz: timezone = UTC,
        cloud_page_cap: int = 100,
        dc_page_cap: int = 1000,
        dc_inline_histories: int = 100,
        bulk_page_cap: int = 10_000,
        cloud_key_page_cap: int = 5000,
    ) -> None:
        if deployment not in FIELD_IDS:
            raise ValueError(f"deployment must be cloud or datacenter, got {deployment!r}")
        self.deployment = deployment
        self.now = now or datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
        self.tz = tz
        self.cloud_page_cap = cloud_page_cap
        self.dc_page_cap = dc_page_cap
        self.dc_inline_histories = dc_inline_histories
        self.bulk_page_cap = bulk_page_cap
        self.cloud_key_page_cap = cloud_key_page_cap
        self.latency = 0.0
        self.on_request: Callable[[FakeJira, Request], None] | None = None
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.issues: dict[str, Issue] = {}
        self.by_id: dict[str, Issue] = {}
        self.old_keys: dict[str, Issue] = {}
        """Keys issues had before a move: Jira still resolves them to the issue."""
        self.unlisted: set[str] = set()
        """Keys a key-only search leaves out (Jira's search index is eventually consistent)."""
        self.statuses = {s["name"]: s for s in _load("statuses.json")}
        self.project_statuses: dict[tuple[str, str], dict[str, Any]] = {}
        """Team-managed statuses by (project, name): each project has its own."""
        self.versions: dict[str, dict[str, dict[str, Any]]] = {}
        """Each project's versions by name (without ``self``, added when rendered)."""
        self.filters: dict[str, dict[str, str]] = {}
        """Saved filters by id: name and jql."""
        self._created = 0
        self._numbers: dict[str, int] = {}
        self.fields = FIELD_IDS[deployment]
        self.base_url = ""
        self._lock = threading.RLock()
        self._version = 0
        self._cache: dict[tuple[Any, ...], tuple[list[Issue], list[tuple[Any, ...]]]] = {}
        self._next_change = 10_000
        self._users: dict[str, dict[str, Any]] = {}
        self._items: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._serialized: dict[int, tuple[Any, str]] = {}
        self._server: ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------- data
    def add_issue(self, key: str, type: str, summary: str, created: datetime, **kw: Any) -> Issue:
        """Create an issue (no history yet)."""
        with self._lock:
            self._created += 1
            issue = Issue(10_000 + self._created, key, type, summary, created, **kw)
            self.issues[key] = issue
            self.by_id[str(issue.id)] = issue
            project, number = issue.sort_key
            self._numbers[project] = max(self._numbers.get(project, 0), number)
            self._version += 1
            return issue

    def add_status(self, name: str, category: str, project: str) -> str:
        """A team-managed project's own status (its name may be another status's); its id."""
        with self._lock:
            sid = str(20_000 + len(self.project_statuses))
            self.project_statuses[(project, name)] = {
                "self": f"{self.base_url}/rest/api/2/status/{sid}",
                "description": "",
                "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
                "name": name,
                "untranslatedName": name,
                "id": sid,
                "statusCategory": CATEGORIES[category],
                "scope": {"type": "PROJECT", "project": {"id": str(30_000 + len(project))}},
            }
            return sid

    def add_version(
        self,
        project: str,
        name: str,
        release_date: date | None = None,
        *,
        released: bool = False,
        archived: bool = False,
    ) -> dict[str, Any]:
        """A fix version of ``project`` (no issue changes); its JSON without ``self``."""
        with self._lock:
            number = 10_100 + sum(len(v) for v in self.versions.values())
            version: dict[str, Any] = {
                "id": str(number),
                "description": "",
                "name": name,
                "archived": archived,
                "released": released,
                "projectId": 30_000 + len(project),
            }
            if release_date is not None:
                version["releaseDate"] = release_date.isoformat()
            self.versions.setdefault(project, {})[name] = version
            return version

    def set_release_date(self, project: str, name: str, day: date | None) -> None:
        """Move a version's release date, as a release manager does: no issue is updated."""
        with self._lock:
            version = self.versions[project][name]
            version.pop("releaseDate", None)
            if day is not None:
                version["releaseDate"] = day.isoformat()

    def delete_version(self, project: str, name: str) -> None:
        """Delete a version of ``project``; issues naming it keep it until edited, as at Jira."""
        with self._lock:
            del self.versions[project][name]

    def delete_filter(self, filter_id: str) -> None:
        """Delete a saved filter: reading it answers 404 from then on."""
        with self._lock:
            del self.filters[filter_id]

    def add_filter(self, name: str, jql: str) -> str:
        """A saved filter shared with the API account; its id."""
        with self._lock:
            filter_id = str(10_500 + len(self.filters))
            self.filters[filter_id] = {"name": name, "jql": jql}
            return filter_id

    def _status_def(self, project: str, name: str) -> dict[str, Any]:
        return self.project_statuses.get((project, name)) or self.statuses[name]

    def move_issue(self, key: str, project: str, at: datetime) -> str:
        """Move ``key`` to ``project`` at ``at``: it gets the project's next key; return it.

        As in Jira, the move is a change of the issue (``Key`` and ``project`` in its history,
        ``updated`` set) and the old key keeps resolving to it.
        """
        with self._lock:
            issue = self.issues.pop(key)
            number = self._numbers.get(project, 0) + 1
            self._numbers[project] = number
            new_key = f"{project}-{number}"
            old_project = issue.sort_key[0]
            items = [
                self._item("Key", "issuekey", None, key, None, new_key),
                self._item("project", "project", None, old_project, None, project),
            ]
            issue.key, issue.sort_key = new_key, (project, number)
            self.issues[new_key] = issue
            self.old_keys[key] = issue
            self._record(issue, at, items)
            return new_key

    def delete_issue(self, key: str) -> None:
        """Delete ``key``: it is gone from every search and answer."""
        with self._lock:
            issue = self.issues.pop(key)
            del self.by_id[str(issue.id)]
            for old in [k for k, v in self.old_keys.items() if v is issue]:
                del self.old_keys[old]
            self._version += 1

    def _find(self, name: str) -> Issue | None:
        """The issue of a key (current or historical) or id."""
        return self.issues.get(name) or self.old_keys.get(name) or self.by_id.get(name)

    def _record(self, issue: Issue, at: datetime, items: Iterable[dict[str, Any]]) -> None:
        self._next_change += 1
        issue.changes.append(Change(self._next_change, at, tuple(items)))
        issue.updated = max(issue.updated or at, at)
        self._version += 1

    def _item(
        self, name: str, fid: str, frm: Any, frm_s: Any, to: Any, to_s: Any
    ) -> dict[str, Any]:
        key = (name, fid, frm, frm_s, to, to_s)
        if key not in self._items:  # shared: a million histories need only a few item dicts
            kind = "custom" if fid.startswith("customfield_") else "jira"
            self._items[key] = {
                "field": name,
                "fieldtype": kind,
                "fieldId": fid,
                "from": frm,
                "fromString": frm_s,
                "to": to,
                "toString": to_s,
            }
        return self._items[key]

    def move(self, key: str, status: str, at: datetime, resolution: str | None = None) -> None:
        """Transition ``key`` to ``status`` at ``at`` (setting or clearing the resolution)."""
        with self._lock:
            issue = self.issues[key]
            project = issue.sort_key[0]
            old, new = self._status_def(project, issue.status), self._status_def(project, status)
            items = [self._item("status", "status", old["id"], old["name"], new["id"], status)]
            if resolution != issue.resolution:
                items.append(
                    self._item(
                        "resolution",
                        "resolution",
                        RESOLUTIONS.get(issue.resolution or ""),
                        issue.resolution,
                        RESOLUTIONS.get(resolution or ""),
                        resolution,
                    )
                )
                issue.resolution = resolution
                issue.resolved = at if resolution else None
            issue.status = status
            self._record(issue, at, items)

    def flag(self, key: str, on: bool, at: datetime) -> None:
        """Set or clear the Flagged impediment."""
        with self._lock:
            issue = self.issues[key]
            value = ("[10019]", "Impediment")
            frm, to = ((None, None), value) if on else (value, (None, None))
            fid = self.fields["flagged"]
            self._record(issue, at, [self._item("Flagged", fid, *frm, *to)])
            issue.flagged = on

    def assign(self, key: str, person: str, at: datetime) -> None:
        """Change the assignee (a change no metric tracks: noise in the changelog)."""
        with self._lock:
            issue = self.issues[key]
            items = [self._item("assignee", "assignee", None, issue.assignee, None, person)]
            issue.assignee = person
            self._record(issue, at, items)

    def load_scenario(self, path: Path = FIXTURES / "scenario.json") -> None:
        """Load issues and their histories from a scenario file (see fixtures/jira)."""
        data = json.loads(path.read_text())
        self.now = parse_instant(data["now"])
        for raw in data["issues"]:
            issue = self.add_issue(
                raw["key"],
                raw["type"],
                raw["summary"],
                parse_instant(raw["created"]),
                assignee=raw.get("assignee"),
                priority=raw.get("priority"),
                labels=raw.get("labels", []),
                parent=raw.get("parent"),
                story_points=raw.get("story_points"),
                flagged=raw.get("flagged", False),
                blocked_by=raw.get("blocked_by", []),
                broken=raw.get("broken", {}),
            )
            for at, kind, *args in raw["events"]:
                when = parse_instant(at)
                if kind == "status":
                    self.move(issue.key, args[0], when, *args[1:])
                elif kind == "flag":
                    self.flag(issue.key, args[0], when)
                else:
                    self.assign(issue.key, args[0], when)
            for index, created in raw.get("broken_changes", {}).items():
                issue.changes[int(index)].raw_created = created

    def generate(
        self, issues: int, changes: int, seed: int = 1, project: str = "BIG", flag_every: int = 0
    ) -> None:
        """A synthetic site: ``issues`` issues with ``changes`` status changes each.

        Every ``flag_every``-th issue (none when 0) is also flagged and unflagged once.
        """
        rng = random.Random(seed)
        flow = ["Selected for Development", "In Progress", "Code Review", "QA"]
        start = self.now - timedelta(days=720)
        span = 700 * 86_400
        for n in range(1, issues + 1):
            created = start + timedelta(seconds=span * n / (issues + 1))
            issue = self.add_issue(f"{project}-{n}", "Story", f"Synthetic issue {n}", created)
            at = created
            for step in range(changes):
                at += timedelta(minutes=rng.randint(5, 600))
                if step == changes - 1:
                    self.move(issue.key, "Done", at, "Done")
                else:
                    self.move(issue.key, flow[step % len(flow)], at)
            if flag_every and n % flag_every == 0:
                self.flag(issue.key, True, created + timedelta(minutes=1))
                self.flag(issue.key, False, created + timedelta(minutes=2))

    # ------------------------------------------------------------- rendering
    def _user(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        if name not in self._users:
            slug = re.sub(r"\W+", ".", name.lower())
            avatar = f"https://avatar-management.example/avatar/{slug}"
            user: dict[str, Any] = {
                "avatarUrls": {
                    s: f"{avatar}?s={s[:2]}" for s in ("48x48", "24x24", "16x16", "32x32")
                },
                "displayName": name,
                "active": True,
                "timeZone": "Europe/London",
            }
            if self.deployment == "cloud":
                account = f"5b10a2844c20165700ede2{len(self._users):02x}"
                user.update(
                    self=f"{self.base_url}/rest/api/3/user?accountId={account}",
                    accountId=account,
                    accountType="atlassian",
                )
            else:
                user.update(
                    self=f"{self.base_url}/rest/api/2/user?username={slug}",
                    name=slug,
                    key=f"JIRAUSER{10100 + len(self._users)}",
                    emailAddress=f"{slug}@acme.example",
                )
            self._users[name] = user
        return self._users[name]

    def _status(self, name: str, project: str = "") -> dict[str, Any]:
        status = dict(self._status_def(project, name))
        status.pop("untranslatedName", None)
        status.pop("scope", None)
        return status

    def _issue_status(self, issue: Issue | None) -> dict[str, Any]:
        """The status an issue is in, as its project knows it (Backlog for an unknown issue)."""
        if issue is None:
            return self._status("Backlog")
        return self._status(issue.status, issue.sort_key[0])

    def _link(self, other: str) -> dict[str, Any]:
        target = self.issues.get(other)
        return {
            "id": "10400",
            "self": f"{self.base_url}/rest/api/2/issueLink/10400",
            "type": {
                "id": "10000",
                "name": "Blocks",
                "inward": "is blocked by",
                "outward": "blocks",
                "self": f"{self.base_url}/rest/api/2/issueLinkType/10000",
            },
            "inwardIssue": {
                "id": str(target.id) if target else "99999",
                "key": other,
                "self": f"{self.base_url}/rest/api/2/issue/{other}",
                "fields": {
                    "summary": target.summary if target else "",
                    "status": self._issue_status(target),
                },
            },
        }

    def _version_json(self, project: str, name: str) -> dict[str, Any]:
        """A version as Jira renders it (an issue's fix version, or the versions list)."""
        version = self.versions.get(project, {}).get(name) or {"id": "0", "name": name}
        api = "3" if self.deployment == "cloud" else "2"
        return {"self": f"{self.base_url}/rest/api/{api}/version/{version['id']}", **version}

    def _project_versions(self, project: str) -> list[dict[str, Any]]:
        issues = self.issues.values()
        if project not in self.versions and all(i.sort_key[0] != project for i in issues):
            raise ApiError(404, f"No project could be found with key '{project}'.")
        return [self._version_json(project, name) for name in self.versions.get(project, {})]

    def _saved_filter(self, filter_id: str) -> dict[str, Any]:
        saved = self.filters.get(filter_id)
        if saved is None:
            raise ApiError(404, f"The selected filter is not available to you: {filter_id}")
        api = "3" if self.deployment == "cloud" else "2"
        return {
            "self": f"{self.base_url}/rest/api/{api}/filter/{filter_id}",
            "id": filter_id,
            "name": saved["name"],
            "description": "",
            "owner": self._user("Jira Admin"),
            "jql": saved["jql"],
            "viewUrl": f"{self.base_url}/issues/?filter={filter_id}",
            "searchUrl": f"{self.base_url}/rest/api/{api}/search?jql=",
            "favourite": False,
            "favouritedCount": 0,
            "sharePermissions": [{"id": 10000, "type": "global"}],
        }

    def _fields(self, issue: Issue, wanted: set[str] | None) -> dict[str, Any]:
        t = lambda at: jira_time(at, self.tz) if at else None  # noqa: E731
        values: dict[str, Any] = {
            "summary": issue.summary,
            "issuetype": {
                "self": f"{self.base_url}/rest/api/2/issuetype/{TYPES[issue.type]}",
                "id": TYPES[issue.type],
                "description": "",
                "iconUrl": f"{self.base_url}/secure/viewavatar?avatarId=10315",
                "name": issue.type,
                "subtask": False,
                "avatarId": 10315,
                "hierarchyLevel": 1 if issue.type == "Epic" else 0,
            },
            "status": self._issue_status(issue),
            "created": t(issue.created),
            "updated": t(issue.updated),
            "resolutiondate": t(issue.resolved),
            "resolution": None
            if issue.resolution is None
            else {
                "self": f"{self.base_url}/rest/api/2/resolution/{RESOLUTIONS[issue.resolution]}",
                "id": RESOLUTIONS[issue.resolution],
                "description": "",
                "name": issue.resolution,
            },
            "assignee": self._user(issue.assignee),
            "priority": None
            if issue.priority is None
            else {
                "self": f"{self.base_url}/rest/api/2/priority/{PRIORITIES[issue.priority]}",
                "iconUrl": f"{self.base_url}/images/icons/priorities/{issue.priority.lower()}.svg",
                "name": issue.priority,
                "id": PRIORITIES[issue.priority],
            },
            "labels": list(issue.labels),
            "issuelinks": [self._link(k) for k in issue.blocked_by],
            "fixVersions": [self._version_json(issue.sort_key[0], n) for n in issue.fix_versions],
            "duedate": issue.due.isoformat() if issue.due else None,
            self.fields["points"]: issue.story_points,
            self.fields["flagged"]: [
                {
                    "self": f"{self.base_url}/rest/api/2/customFieldOption/10019",
                    "value": "Impediment",
                    "id": "10019",
                }
            ]
            if issue.flagged
            else None,
        }
        if self.fields["epic"]:
            values[self.fields["epic"]] = issue.parent
        elif issue.parent:
            parent = self.issues.get(issue.parent)
            values["parent"] = {
                "id": str(parent.id) if parent else "99998",
                "key": issue.parent,
                "self": f"{self.base_url}/rest/api/3/issue/{issue.parent}",
                "fields": {
                    "summary": parent.summary if parent else "",
                    "status": self._issue_status(parent),
                },
            }
        values.update(issue.broken)
        if wanted is None:
            return values
        return {k: v for k, v in values.items() if k in wanted}

    def _history(
        self, change: Change, author: dict[str, Any] | None, items: Iterable[dict[str, Any]]
    ) -> dict[str, Any]:
        created = (
            change.raw_created if change.raw_created is not None else jira_time(change.at, self.tz)
        )
        if self.deployment == "datacenter":  # Data Center items carry no fieldId
            items = [{k: v for k, v in i.items() if k != "fieldId"} for i in items]
        return {"id": str(change.id), "author": author, "created": created, "items": list(items)}

    def _render(self, issue: Issue, wanted: set[str] | None, inline: int | None) -> dict[str, Any]:
        api = "3" if self.deployment == "cloud" else "2"
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": str(issue.id),
            "self": f"{self.base_url}/rest/api/{api}/issue/{issue.id}",
            "key": issue.key,
            "fields": self._fields(issue, wanted),
        }
        if inline is not None:
            author = self._user(issue.assignee or "Jira Automation")
            shown = issue.changes[:inline]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(shown),
                "total": len(issue.changes),
                "histories": [self._history(c, author, c.items) for c in shown],
            }
        return out

    # -------------------------------------------------------------------- JQL
    def _compile(self, jql: str) -> tuple[Callable[[Issue], bool], list[str], bool]:
        split = re.search(r"\border\s+by\b", jql, re.I)
        where, order = (jql[: split.start()], jql[split.end() :]) if split else (jql, "")
        tests = [self._clause(c) for c in _conditions(where)]
        keys = []
        for part in filter(None, (p.strip() for p in order.split(","))):
            name, *direction = part.split()
            if name.lower() not in ("updated", "created", "key", "id") or (
                direction and direction[0].upper() != "ASC"
            ):
                raise ApiError(400, f"the fake Jira cannot order by {part!r}")
            keys.append(name.lower())
        return (lambda i: all(test(i) for test in tests)), keys or ["key"], bool(tests)

    def _clause(self, clause: str) -> Callable[[Issue], bool]:
        text = clause.strip()
        if m := re.fullmatch(r'project\s*=\s*"?([A-Z][A-Z0-9_]*)"?', text, re.I):
            project = m.group(1)
            return lambda i: i.sort_key[0] == project
        if m := re.fullmatch(r"project\s+in\s*\(([^)]*)\)", text, re.I):
            wanted = {p.strip().strip('"') for p in m.group(1).split(",")}
            return lambda i: i.sort_key[0] in wanted
        if m := re.fullmatch(r'issuetype\s*(!?=)\s*"?([^"]+)"?', text, re.I):
            negate, name = m.group(1) == "!=", m.group(2)
            return lambda i: (i.type == name) != negate
        if m := re.fullmatch(r'status\s*(!?=)\s*"?([^"]+)"?', text, re.I):
            negate, status = m.group(1) == "!=", m.group(2)
            return lambda i: (i.status == status) != negate
        if m := re.fullmatch(r'fixVersion\s*=\s*"?([^"]+)"?', text, re.I):
            version = m.group(1)
            return lambda i: version in i.fix_versions
        if m := re.fullmatch(r"(?:key|issuekey)\s+in\s*\(([^)]*)\)", text, re.I):
            ids = set()
            for name in (k.strip().strip('"') for k in m.group(1).split(",")):
                found = self._find(name)
                if found is None:
                    raise ApiError(
                        400, f"An issue with key '{name}' does not exist for field 'key'."
                    )
                ids.add(found.id)
            return lambda i: i.id in ids
        if m := re.fullmatch(r'updated\s*>=\s*"?-(\d+)m"?', text, re.I):
            bound = self.now - timedelta(minutes=int(m.group(1)))
            bound = bound.replace(second=0, microsecond=0)
            return lambda i: i.updated >= bound
        raise ApiError(400, f"the fake Jira does not understand the JQL clause {text!r}")

    def _sorted(self, jql: str) -> tuple[list[Issue], list[tuple[Any, ...]], list[str]]:
        test, order, bounded = self._compile(jql)
        if self.deployment == "cloud" and not bounded:
            raise ApiError(
                400,
                "Unbounded JQL queries are not allowed here. Please add a search restriction "
                "to your query.",
            )
        cache_key = (jql, self._version, self.now)
        if cache_key not in self._cache:
            matches = sorted(
                (i for i in self.issues.values() if test(i)), key=lambda i: _sort_key(i, order)
            )
            self._cache = {cache_key: (matches, [_sort_key(i, order) for i in matches])}
        matches, keys = self._cache[cache_key]
        return matches, keys, order

    # -------------------------------------------------------------- endpoints
    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: status, JSON body, extra headers."""
        if path.startswith("/_fake/"):
            return 200, self._control(path, body), {}
        request = Request(method, path, query, body)
        with self._lock:
            self.requests.append(request)
            if self.on_request is not None:
                self.on_request(self, request)
            fault = self._fault(path)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            return fault.status, {"errorMessages": [f"injected {fault.status}"]}, fault.headers
        try:
            if not path.endswith("/serverInfo"):
                self._authenticate(headers)
            with self._lock:
                return 200, self._route(method, path, _params(query, body)), {}
        except ApiError as exc:
            return exc.status, {"errorMessages": [str(exc)], "errors": {}}, exc.headers

    def _control(self, path: str, body: Any) -> Any:
        if path == "/_fake/stats":
            return {
                "requests": len(self.requests),
                "by_path": Counter(r.path for r in self.requests),
            }
        raise ApiError(404, path)

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in path and fault.times > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def _authenticate(self, headers: dict[str, str]) -> None:
        given = headers.get("authorization", "")
        if self.deployment == "cloud":
            expected = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        else:
            expected = f"Bearer {PAT}"
        if given != expected:
            raise ApiError(
                401, "You are not authenticated. Authentication required to perform this operation."
            )

    def _route(self, method: str, path: str, params: dict[str, Any]) -> Any:
        cloud = self.deployment == "cloud"
        version = path.split("/")[3] if path.startswith("/rest/api/") else ""
        route = path.removeprefix(f"/rest/api/{version}")
        if not cloud and version == "3":
            raise ApiError(404, "Null for uri: " + path)
        if route == "/serverInfo":
            info = _load(f"server_info_{self.deployment}.json")
            return {**info, "baseUrl": self.base_url, "serverTime": jira_time(self.now, self.tz)}
        if route == "/field":
            return _load(f"fields_{self.deployment}.json")
        if route == "/status":
            return [*self.statuses.values(), *self.project_statuses.values()]
        if route == "/search/jql" and cloud:
            return self._cloud_search(params)
        if route == "/search/approximate-count" and cloud and method == "POST":
            return {"count": len(self._sorted(str(params.get("jql", "")))[0])}
        if route == "/changelog/bulkfetch" and cloud and method == "POST":
            return self._bulk_changelog(params)
        if route == "/search":
            if cloud:
                raise ApiError(
                    410,
                    "The requested API has been removed. Please migrate to the "
                    "/rest/api/3/search/jql API.",
                )
            return self._dc_search(params)
        if m := re.fullmatch(r"/project/([A-Z][A-Z0-9_]*)/versions", route):
            return self._project_versions(m.group(1))
        if m := re.fullmatch(r"/filter/(\d+)", route):
            return self._saved_filter(m.group(1))
        if m := re.fullmatch(r"/issue/([A-Z0-9_]+-\d+|\d+)", route):
            issue = self._find(m.group(1))
            if issue is None:
                raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
            expand = _list(params.get("expand"))
            full = len(issue.changes) if "changelog" in expand else None
            return self._render(issue, _wanted(params.get("fields")), full)
        raise ApiError(404, f"the fake Jira has no {method} {path}")

    def _cloud_search(self, params: dict[str, Any]) -> Any:
        matches, keys, order = self._sorted(str(params.get("jql", "")))
        wanted = set(_list(params.get("fields", "id"))) or {"id"}  # "*all": every field
        cap = self.cloud_key_page_cap if wanted <= {"id", "key"} else self.cloud_page_cap
        size = min(int(params.get("maxResults", 50)), cap)
        start = 0
        if token := params.get("nextPageToken"):
            after = tuple(json.loads(base64.urlsafe_b64decode(token)))
            start = bisect.bisect_right(keys, after)
        page = matches[start : start + size]
        listed = [i for i in page if not (wanted <= {"id", "key"} and i.key in self.unlisted)]
        inline = CLOUD_INLINE_HISTORIES if "changelog" in _list(params.get("expand")) else None
        fields = None if wanted & {"*all", "*navigable"} else wanted - {"id", "key"}
        out: dict[str, Any] = {"issues": [self._render(i, fields, inline) for i in listed]}
        last = start + size >= len(matches)
        if not last:
            token = json.dumps(list(_sort_key(page[-1], order)))
            out["nextPageToken"] = base64.urlsafe_b64encode(token.encode()).decode()
        out["isLast"] = last
        return out

    def _dc_search(self, params: dict[str, Any]) -> Any:
        matches, _, _ = self._sorted(str(params.get("jql", "")))
        size = min(int(params.get("maxResults", 50)), self.dc_page_cap)
        start = int(params.get("startAt", 0))
        wanted = _wanted(params.get("fields"))
        inline = self.dc_inline_histories if "changelog" in _list(params.get("expand")) else None
        page = matches[start : start + size] if size else []
        if wanted is not None and wanted <= {"id", "key"}:
            page = [i for i in page if i.key not in self.unlisted]
        return {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(matches),
            "issues": [self._render(i, wanted, inline) for i in page],
        }

    def _bulk_changelog(self, params: dict[str, Any]) -> Any:
        names = [str(x) for x in params.get("issueIdsOrKeys") or []]
        if len(names) > BULK_MAX_ISSUES:
            raise ApiError(400, "You may only load changelogs for a maximum of 1,000 issues.")
        wanted = set(params.get("fieldIds") or [])
        size = min(int(params.get("maxResults", 1000)), self.bulk_page_cap)
        rows = []
        for name in names:
            issue = self._find(name)
            if issue is None:
                continue
            for change in issue.changes:
                items = [i for i in change.items if not wanted or i["fieldId"] in wanted]
                if items:
                    rows.append((change.at, issue.id, change, items, issue))
        rows.sort(key=lambda r: (r[0], r[1]))
        start = int(params.get("nextPageToken") or 0)
        grouped: dict[int, list[str]] = {}
        for _, issue_id, change, items, issue in rows[start : start + size]:
            author = self._json(self._user(issue.assignee or "Jira Automation"))
            grouped.setdefault(issue_id, []).append(self._history_json(change, author, items))
        logs = ",".join(
            f'{{"issueId":"{i}","changeHistories":[{",".join(h)}]}}' for i, h in grouped.items()
        )
        more = f',"nextPageToken":"{start + size}"' if start + size < len(rows) else ""
        return RawJson(f'{{"issueChangeLogs":[{logs}]{more}}}')

    def _json(self, value: Any) -> str:
        """``value`` serialized once and remembered (users and change items repeat a lot)."""
        key = id(value)
        if key not in self._serialized:
            self._serialized[key] = (value, json.dumps(value, separators=(",", ":")))
        return self._serialized[key][1]

    def _history_json(self, change: Change, author: str, items: list[dict[str, Any]]) -> str:
        """The same history as :meth:`_history` gives, serialized directly (Cloud shape)."""
        created = (
            json.dumps(change.raw_created)
            if change.raw_created is not None
            else f'"{jira_time(change.at, self.tz)}"'
        )
        parts = ",".join(self._json(i) for i in items)
        return f'{{"id":"{change.id}","author":{author},"created":{created},"items":[{parts}]}}'

    # ------------------------------------------------------------------ server
    def start(self) -> str:
        """Serve on a free loopback port in a daemon thread; return the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # no Nagle delay between the header and the body writes
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = fake.handle(
                    self.command, url.path, parse_qs(url.query), body, headers
                )
                compact = (",", ":")
                text = (
                    payload
                    if isinstance(payload, RawJson)
                    else json.dumps(payload, separators=compact)
                )
                data = text.encode()
                self.send_response(status)
                if len(data) > GZIP_ABOVE and "gzip" in headers.get("accept-encoding", ""):
                    data = gzip.compress(data, compresslevel=1)  # as Atlassian's edge does
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeJira:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- counts
    def count(self, fragment: str = "", method: str | None = None) -> int:
        """Requests whose path contains ``fragment`` (and of ``method``, when given)."""
        return sum(
            1
            for r in self.requests
            if fragment in r.path and (method is None or r.method == method)
        )


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _sort_key(issue: Issue, order: list[str]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for name in order:
        if name == "updated":
            parts.append(issue.updated.timestamp())
        elif name == "created":
            parts.append(issue.created.timestamp())
        elif name == "id":
            parts.append(issue.id)
        else:
            parts.extend(issue.sort_key)
    return tuple(parts)


def _conditions(text: str) -> list[str]:
    """Split ``a AND (b AND c)`` into its clauses (OR is not supported)."""
    text = text.strip()
    if not text:
        return []
    depth, quoted, parts, last = 0, False, [], 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text[i : i + 5].upper() == " AND ":
            parts.append(text[last:i])
            last = i + 5
        elif not quoted and depth == 0 and text[i : i + 4].upper() == " OR ":
            raise ApiError(400, "the fake Jira does not support OR")
    parts.append(text[last:])
    if len(parts) == 1:
        only = parts[0].strip()
        if only.startswith("(") and only.endswith(")") and _balanced(only[1:-1]):
            return _conditions(only[1:-1])
        return [only]
    return [c for p in parts for c in _conditions(p)]


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _params(query: dict[str, list[str]], body: Any) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in query.items()}
    if isinstance(body, dict):
        params.update(body)
    return params


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _wanted(value: Any) -> set[str] | None:
    names = set(_list(value))
    return None if not names or names & {"*all", "*navigable"} else names


def main(argv: list[str] | None = None) -> None:
    """Serve a generated site until stdin closes (used by benchmarks/jira_sync.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployment", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--flag-every", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeJira(args.deployment)
    fake.generate(args.issues, args.changes, flag_every=args.flag_every)
    fake.latency = args.latency
    print(f"READY {fake.start()}", flush=True)
    sys.stdin.read()
    fake.stop()


if __name__ == "__main__":
    main()
