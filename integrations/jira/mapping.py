"""Jira JSON to the normalized model: one issue and its changelog become an ItemHistory.

Pure functions over the payloads of Jira Cloud (REST v3, bulk changelogs) and Data Center
(REST v2, changelogs embedded in search results). Both share the issue shape; their changelog
items differ only in that Cloud names the field by ``fieldId`` as well as by ``field``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from insights.model import (
    FlagChange,
    ItemHistory,
    ItemKind,
    Stage,
    Transition,
    WorkItem,
    make_id,
)
from insights.workflow import Workflow

log = logging.getLogger(__name__)

BASE_FIELDS = (
    "summary",
    "issuetype",
    "status",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "assignee",
    "priority",
    "labels",
    "parent",
    "issuelinks",
)
STORY_POINT_NAMES = ("story point estimate", "story points")
BLOCKED_BY = "is blocked by"
_TRACKED = frozenset({"status", "resolution"})
_PLAIN_FIELDS = ("summary", "created", "updated", "resolutiondate", "labels")
_NESTED_FIELDS = (
    ("issuetype", "name"),
    ("priority", "name"),
    ("resolution", "name"),
    ("assignee", "displayName"),
    ("parent", "key"),
)


class MalformedIssue(ValueError):
    """An issue whose payload lacks what every work item needs (key, status, dates)."""


def parse_time(value: Any) -> datetime:
    """A Jira timestamp (``2024-01-15T10:23:45.123+0100`` or epoch milliseconds) in UTC."""
    if type(value) is not str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        raise ValueError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class FieldIds:
    """The custom fields found by name through ``/field`` (ids differ from site to site)."""

    flagged: str | None = None
    story_points: str | None = None
    epic_link: str | None = None

    def search_fields(self) -> list[str]:
        """Every field a search must return."""
        extra = (self.flagged, self.story_points, self.epic_link)
        return [*BASE_FIELDS, *(f for f in extra if f)]

    def changelog_fields(self) -> list[str]:
        """The fields whose history matters: status, resolution and the flag."""
        return ["status", "resolution", *([self.flagged] if self.flagged else [])]


def resolve_fields(fields: Iterable[Any], story_points: str | None) -> FieldIds:
    """Find Flagged, the story-point field (by id or name) and Epic Link in ``/field``."""
    by_name: dict[str, str] = {}
    ids = set()
    for f in fields:
        fid, name = _get(f, "id"), _get(f, "name")
        if isinstance(fid, str) and isinstance(name, str):
            by_name.setdefault(name.strip().lower(), fid)
            ids.add(fid)
    if story_points is None:
        points = next((by_name[n] for n in STORY_POINT_NAMES if n in by_name), None)
    elif story_points in ids:
        points = story_points
    else:
        points = by_name.get(story_points.strip().lower())
        if points is None:
            raise ValueError(
                f"story_points_field {story_points!r} is neither a field id nor a field name "
                "of this Jira; remove it to auto-detect, or copy the name from a Jira issue"
            )
    return FieldIds(by_name.get("flagged"), points, by_name.get("epic link"))


@dataclass
class MappingContext:
    """What mapping needs besides the payload: team, site, workflow, field ids, categories.

    A status the workflow does not map falls back on its Jira status category. Categories are
    learnt from the issues' current statuses; ``more_statuses`` (``/status``) is called at most
    once, the first time a status is neither mapped nor known.
    """

    team: str
    base_url: str
    workflow: Workflow
    fields: FieldIds
    more_statuses: Callable[[], Iterable[Any]] | None = None
    categories: dict[str, str] = field(default_factory=dict)
    """Lower-cased status name -> status category key (``new``, ``indeterminate``, ``done``)."""

    def __post_init__(self) -> None:
        self._mapped = {name.lower() for name in self.workflow.statuses}
        self._stages: dict[tuple[str, str | None], Stage] = {}

    def learn_categories(self, statuses: Iterable[Any]) -> None:
        """Remember the category of each status in a ``/status`` list or issue payload."""
        for status in statuses:
            name, category = _get(status, "name"), _get(status, "statusCategory", "key")
            if isinstance(name, str) and isinstance(category, str):
                self.categories[name.lower()] = category

    def stage(self, status: str, resolution: str | None) -> Stage:
        """The stage of ``status`` (its category helps when the workflow lacks it)."""
        known = self._stages.get((status, resolution))
        if known is None:
            known = self._stages[(status, resolution)] = self._stage(status, resolution)
        return known

    def _stage(self, status: str, resolution: str | None) -> Stage:
        lowered = status.lower()
        if lowered not in self._mapped and lowered not in self.categories and self.more_statuses:
            load, self.more_statuses = self.more_statuses, None
            self.learn_categories(load())
        return self.workflow.stage_for(status, self.categories.get(lowered), resolution)


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _Entry(NamedTuple):
    """One changelog history reduced to what matters, in time order."""

    at: datetime
    order: int
    statuses: list[tuple[str | None, str]]
    resolutions: list[str | None]
    flags: list[bool]


def _entry(history: Mapping[str, Any], flagged_id: str | None, position: int) -> _Entry | None:
    """Reduce one history; None when it holds nothing we track; ValueError when malformed."""
    at = parse_time(history.get("created"))
    items = history.get("items")
    if not isinstance(items, list):
        raise ValueError("its 'items' is not a list")
    statuses, resolutions, flags = [], [], []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError("an item is not an object")
        fid = item.get("fieldId")
        name = fid if fid in _TRACKED else str(item.get("field") or "").lower()
        if name == "status":
            to = _text(item.get("toString"))
            if to is None:
                raise ValueError("a status change has no target status")
            statuses.append((_text(item.get("fromString")), to))
        elif name == "resolution":
            resolutions.append(_text(item.get("toString")))
        elif (flagged_id is not None and fid == flagged_id) or name == "flagged":
            flags.append(_text(item.get("toString")) is not None)
    if not (statuses or resolutions or flags):
        return None
    raw_id = history.get("id")
    order = int(raw_id) if isinstance(raw_id, str | int) and str(raw_id).isdigit() else position
    return _Entry(at, order, statuses, resolutions, flags)


def _entries(
    key: str, histories: Sequence[Any], flagged_id: str | None
) -> tuple[list[_Entry], int]:
    entries, skipped = [], 0
    for position, history in enumerate(histories):
        try:
            if not isinstance(history, Mapping):
                raise ValueError("it is not an object")
            entry = _entry(history, flagged_id, position)
        except ValueError as exc:
            skipped += 1
            hid = history.get("id") if isinstance(history, Mapping) else None
            log.warning("jira: skipped changelog entry %s of %s: %s", hid, key, exc)
            continue
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: (e.at, e.order))
    return entries, skipped


def _events(
    item_id: str, entries: Sequence[_Entry], ctx: MappingContext
) -> tuple[list[Transition], list[FlagChange]]:
    transitions: list[Transition] = []
    flags: list[FlagChange] = []
    resolution: str | None = None
    flagged = False
    for entry in entries:
        before = resolution
        if entry.resolutions:  # set or cleared in the same change as the status, as a rule
            resolution = entry.resolutions[-1]
        for source, target in entry.statuses:
            from_stage = ctx.stage(source, before) if source is not None else None
            transitions.append(
                Transition(
                    item_id, entry.at, source, target, from_stage, ctx.stage(target, resolution)
                )
            )
        for state in entry.flags:
            if state != flagged:
                flags.append(FlagChange(item_id, entry.at, state))
                flagged = state
    return transitions, flags


def _story_points(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _blocked_by(links: Any) -> tuple[str, ...]:
    keys = []
    for link in links if isinstance(links, list) else ():
        inward = _get(link, "type", "inward")
        other = _get(link, "inwardIssue", "key")
        if isinstance(inward, str) and inward.lower() == BLOCKED_BY and isinstance(other, str):
            keys.append(other)
    return tuple(sorted(set(keys)))


def _required(fields: Mapping[str, Any], name: str, key: str) -> Any:
    value = fields.get(name)
    if value is None:
        raise MalformedIssue(f"issue {key} has no {name}")
    return value


def slim_issue(issue: Any, ids: FieldIds) -> Any:
    """The parts of an issue payload that mapping reads, same shape, without the rest.

    Issues wait in queues between the search and their changelogs; a full payload (self links,
    avatars, status descriptions) weighs ten times more than what is kept.
    """
    fields = issue.get("fields") if isinstance(issue, Mapping) else None
    if not isinstance(fields, Mapping):
        return issue
    kept = {name: fields[name] for name in _PLAIN_FIELDS if name in fields}
    for name, part in _NESTED_FIELDS:
        value = fields.get(name)
        kept[name] = {part: value.get(part)} if isinstance(value, Mapping) else value
    status = fields.get("status")
    if isinstance(status, Mapping):
        kept["status"] = {
            "name": status.get("name"),
            "statusCategory": {"key": _get(status, "statusCategory", "key")},
        }
    links = fields.get("issuelinks")
    if isinstance(links, list):
        kept["issuelinks"] = [
            {
                "type": {"inward": _get(link, "type", "inward")},
                "inwardIssue": {"key": _get(link, "inwardIssue", "key")},
            }
            for link in links
        ]
    for custom in (ids.flagged, ids.story_points, ids.epic_link):
        if custom and custom in fields:
            kept[custom] = fields[custom]
    return {"id": issue.get("id"), "key": issue.get("key"), "fields": kept}


def issue_key(issue: Any) -> str:
    """The key of an issue payload (MalformedIssue when it has none)."""
    key = issue.get("key") if isinstance(issue, Mapping) else None
    if not isinstance(key, str) or not key:
        raise MalformedIssue(f"an issue without a key (id {_get(issue, 'id')!r})")
    return key


def issue_updated(issue: Any) -> datetime | None:
    """The ``updated`` instant of an issue payload, None when unreadable."""
    try:
        return parse_time(_get(issue, "fields", "updated"))
    except ValueError:
        return None


def to_item_history(
    issue: Mapping[str, Any], histories: Sequence[Any], ctx: MappingContext
) -> tuple[ItemHistory, int]:
    """Map one issue and its full changelog; return it and the changelog entries skipped.

    Raises :class:`MalformedIssue` when the issue itself cannot become a work item.
    """
    key = issue_key(issue)
    fields = issue.get("fields")
    if not isinstance(fields, Mapping):
        raise MalformedIssue(f"issue {key} has no fields")
    status = _text(_get(fields, "status", "name"))
    if status is None:
        raise MalformedIssue(f"issue {key} has no status name")
    try:
        created = parse_time(_required(fields, "created", key))
        updated = parse_time(_required(fields, "updated", key))
        resolved = fields.get("resolutiondate")
        resolved_at = parse_time(resolved) if resolved else None
    except ValueError as exc:
        raise MalformedIssue(f"issue {key}: {exc}") from None
    ctx.learn_categories([fields["status"]])
    resolution = _text(_get(fields, "resolution", "name"))
    item_id = make_id("jira", "issue", key)
    entries, skipped = _entries(key, histories, ctx.fields.flagged)
    transitions, flags = _events(item_id, entries, ctx)
    flagged_now = ctx.fields.flagged is not None and bool(fields.get(ctx.fields.flagged))
    if flagged_now and not flags:  # flagged when created: no history records it
        flags.append(FlagChange(item_id, created, True))
    epic = fields.get(ctx.fields.epic_link) if ctx.fields.epic_link else None
    item = WorkItem(
        id=item_id,
        team=ctx.team,
        source="jira",
        key=key,
        kind=ItemKind.ISSUE,
        type=_text(_get(fields, "issuetype", "name")) or "Unknown",
        title=summary if isinstance(summary := fields.get("summary"), str) else "",
        status=status,
        stage=ctx.stage(status, resolution),
        created_at=created,
        updated_at=updated,
        resolved_at=resolved_at,
        assignee=_text(_get(fields, "assignee", "displayName")),
        url=f"{ctx.base_url}/browse/{key}",
        priority=_text(_get(fields, "priority", "name")),
        labels=tuple(x for x in fields.get("labels") or () if isinstance(x, str)),
        parent_key=_text(_get(fields, "parent", "key")) or _text(epic),
        story_points=_story_points(fields.get(ctx.fields.story_points or "")),
        blocked_by=_blocked_by(fields.get("issuelinks")),
    )
    return ItemHistory(item, tuple(transitions), tuple(flags)), skipped
