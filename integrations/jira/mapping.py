"""Jira JSON to the normalized model: one issue and its changelog become an ItemHistory.

Pure functions over the payloads of Jira Cloud (REST v3, bulk changelogs) and Data Center
(REST v2, changelogs embedded in search results). Both share the issue shape; their changelog
items differ only in that Cloud names the field by ``fieldId`` as well as by ``field``.

A first sync maps a million changelog entries: the loops over them avoid per-entry calls and
lookups that repeat (the stages of the workflow's statuses are remembered per sync, issue
timestamps parsed once though three steps read them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
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
from insights.workflow import Workflow, is_committed
from integrations._times import parse_day

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
    "fixVersions",
    "duedate",
)
STORY_POINT_NAMES = ("story point estimate", "story points")
BLOCKED_BY = "is blocked by"
_TRACKED = frozenset({"status", "resolution"})
ISSUE_TIMES = 8192
"""Issue timestamps remembered parsed: the batches read ahead hold fewer issues than this."""
_PLAIN_FIELDS = ("summary", "created", "updated", "resolutiondate", "labels", "duedate")
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


_parsed_text = lru_cache(maxsize=ISSUE_TIMES)(parse_time)


def _issue_time(value: Any) -> datetime:
    """:func:`parse_time` of an issue's timestamp, remembered: a sync reads ``updated`` thrice."""
    return _parsed_text(value) if type(value) is str else parse_time(value)


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

    A status the workflow does not map falls back on its Jira status category, found by status
    *id*: one name can stand for several statuses (team-managed projects each have their own)
    with different categories. The category an issue carries for its current status comes
    first; other ids are learnt from the issues' current statuses, and ``more_statuses``
    (``/status``) is called at most once, the first time an unmapped status id is unknown.
    """

    team: str
    base_url: str
    workflow: Workflow
    fields: FieldIds
    more_statuses: Callable[[], Iterable[Any]] | None = None
    categories: dict[str, str] = field(default_factory=dict)
    """Status id -> status category key (``new``, ``indeterminate``, ``done``)."""

    def __post_init__(self) -> None:
        self._stages: dict[tuple[str, str | None, str | None, bool], Stage] = {}
        self._mapped: dict[tuple[str, str | None], Stage] = {}
        """Stages of the statuses the workflow maps, by (status, resolution): neither the status
        id, a category nor the stage before matters for them."""

    def learn_categories(self, statuses: Iterable[Any], *, fresh: bool = False) -> None:
        """Remember the category of each status (by id) of a ``/status`` list or issue payloads.

        ``fresh`` values (an issue's own status) replace what is known; others only fill gaps.
        """
        for status in statuses:
            sid, category = _status_id(_get(status, "id")), _get(status, "statusCategory", "key")
            if sid is not None and isinstance(category, str):
                if fresh:
                    self.categories[sid] = category
                else:
                    self.categories.setdefault(sid, category)

    def category(self, status_id: str | None) -> str | None:
        """The category of the status with this id, loading ``/status`` once when unknown."""
        if status_id is None:
            return None
        if status_id not in self.categories and self.more_statuses is not None:
            load, self.more_statuses = self.more_statuses, None
            self.learn_categories(load())
        return self.categories.get(status_id)

    def stage(
        self,
        status: str,
        status_id: str | None,
        resolution: str | None,
        before: Stage | None = None,
        category: str | None = None,
    ) -> Stage:
        """The stage of ``status`` (id ``status_id``), entered from the stage ``before``.

        Its category (``category`` when the caller has it, else found by id) only matters when
        the workflow lacks the status; ``before`` only when nothing else places it (an unknown
        status is backlog until the item is committed to).
        """
        mapped = self._mapped.get((status, resolution))
        if mapped is not None:
            return mapped
        if self.workflow.maps(status):
            mapped = self._mapped[status, resolution] = self.workflow.stage_for(
                status, None, resolution
            )
            return mapped
        if category is None:
            category = self.category(status_id)
        key = (status, category, resolution, is_committed(before))
        known = self._stages.get(key)
        if known is None:
            known = self._stages[key] = self.workflow.stage_for(
                status, category, resolution, key[3]
            )
        return known


def _status_id(value: Any) -> str | None:
    """A status id as Jira gives it (a string, in changelogs sometimes a number)."""
    if type(value) is str:
        return value or None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if type(data) is not dict and not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _Status(NamedTuple):
    """One status change of a changelog history: names and ids, from and to."""

    source: str | None
    source_id: str | None
    target: str
    target_id: str | None


class _Entry(NamedTuple):
    """One changelog history reduced to what matters, in time order (``()`` for none)."""

    at: datetime
    order: int
    statuses: Sequence[_Status]
    resolutions: Sequence[str | None]
    flags: Sequence[bool]


_TIME_ORDER = itemgetter(0, 1)
"""An entry's (at, order): the order of the changelog."""


class _Skipped(NamedTuple):
    """An unreadable changelog history: its place, and whether it may have (un)flagged the issue.

    It may have when its items cannot be read, or when one of them is the flag.
    """

    order: int
    may_flag: bool


def _order(history: Mapping[str, Any], position: int) -> int:
    """A history's place in the changelog: its numeric id (ids grow with time), else position."""
    raw_id = history.get("id")
    if type(raw_id) is str:
        return int(raw_id) if raw_id.isdigit() else position
    return int(raw_id) if isinstance(raw_id, str | int) and str(raw_id).isdigit() else position


def _is_flag(item: Mapping[str, Any], flagged_id: str | None) -> bool:
    fid = item.get("fieldId")
    return (flagged_id is not None and fid == flagged_id) or (
        fid not in _TRACKED and str(item.get("field") or "").lower() == "flagged"
    )


def _entry(history: Mapping[str, Any], flagged_id: str | None, position: int) -> _Entry | None:
    """Reduce one history; None when it holds nothing we track; ValueError when malformed."""
    at = parse_time(history.get("created"))
    items = history.get("items")
    if not isinstance(items, list):
        raise ValueError("its 'items' is not a list")
    statuses, resolutions, flags = [], [], []
    for item in items:
        if type(item) is not dict and not isinstance(item, Mapping):
            raise ValueError("an item is not an object")
        get = item.get
        fid = get("fieldId")
        name = fid if fid in _TRACKED else str(get("field") or "").lower()
        if name == "status":
            to = get("toString")
            if not isinstance(to, str) or not to:
                raise ValueError("a status change has no target status")
            source = get("fromString")
            statuses.append(
                _Status(
                    source if isinstance(source, str) and source else None,
                    _status_id(get("from")),
                    to,
                    _status_id(get("to")),
                )
            )
        elif name == "resolution":
            resolutions.append(_text(get("toString")))
        elif _is_flag(item, flagged_id):
            flags.append(_text(get("toString")) is not None)
    if not (statuses or resolutions or flags):
        return None
    order = _order(history, position)
    return _Entry(at, order, statuses or (), resolutions or (), flags or ())  # no empty lists kept


def _skipped(history: Any, flagged_id: str | None, position: int) -> _Skipped:
    """What is known of a history that could not be read."""
    if not isinstance(history, Mapping):
        return _Skipped(position, True)
    items = history.get("items")
    may_flag = not isinstance(items, list) or any(
        not isinstance(item, Mapping) or _is_flag(item, flagged_id) for item in items
    )
    return _Skipped(_order(history, position), may_flag)


def _entries(
    key: str, histories: Sequence[Any], flagged_id: str | None
) -> tuple[list[_Entry], list[_Skipped]]:
    entries, skipped = [], []
    for position, history in enumerate(histories):
        try:
            if type(history) is not dict and not isinstance(history, Mapping):
                raise ValueError("it is not an object")
            entry = _entry(history, flagged_id, position)
        except ValueError as exc:
            skipped.append(_skipped(history, flagged_id, position))
            hid = history.get("id") if isinstance(history, Mapping) else None
            log.warning("jira: skipped changelog entry %s of %s: %s", hid, key, exc)
            continue
        if entry is not None:
            entries.append(entry)
    entries.sort(key=_TIME_ORDER)
    return entries, skipped


class _Walk(NamedTuple):
    """An issue's status changes, and the stage it entered its last status from."""

    transitions: list[Transition]
    last_status: str | None
    entered_from: Stage | None

    def stage_before(self, status: str) -> Stage | None:
        """The stage the item was in before entering ``status``, the one it is in now."""
        if not self.transitions:
            return None  # in its initial status
        if self.last_status == status:
            return self.entered_from
        return self.transitions[-1].to_stage  # the change into it was unreadable


def _transitions(item_id: str, entries: Sequence[_Entry], ctx: MappingContext) -> _Walk:
    transitions: list[Transition] = []
    resolution: str | None = None
    current: Stage | None = None  # the stage the item is in, as far as the walk knows
    entered_from: Stage | None = None  # the stage it was in before its current status
    last_status: str | None = None
    stage = ctx.stage
    for at, _, statuses, resolutions, _ in entries:
        resolved_before = resolution
        if resolutions:  # set or cleared in the same change as the status, as a rule
            resolution = resolutions[-1]
        for source, source_id, target, target_id in statuses:
            from_stage = None
            if source is not None:
                prior = entered_from if source == last_status else current
                from_stage = stage(source, source_id, resolved_before, prior)
            entered_from = from_stage if from_stage is not None else current
            current = stage(target, target_id, resolution, entered_from)
            last_status = target
            transitions.append(Transition(item_id, at, source, target, from_stage, current))
    return _Walk(transitions, last_status, entered_from)


@dataclass
class _FlagTimeline:
    """An issue's flag changes, completed where the readable history lacks the one that set it.

    A flag cleared (or carried now) without a readable change setting it was set either when
    the issue was created (Jira records no change for values given at creation) or by a history
    that could not be read. In the second case its instant is unknown: the block is timed from
    the earliest evidence (the first readable change after the last suspect history, else the
    clearing change or the issue's last update) and marked ``inferred``, never invented.
    """

    key: str
    entries: Sequence[_Entry]
    skipped: Sequence[_Skipped]
    created: datetime
    changes: list[FlagChange] = field(default_factory=list, init=False)
    last_order: int | None = field(default=None, init=False)
    """The place in the changelog of the last readable flag change."""

    def walk(self, flagged_now: bool, updated: datetime) -> list[FlagChange]:
        """The flag changes of the readable entries, completed, ending as ``flagged_now``."""
        item_id = make_id("jira", "issue", self.key)
        flagged = False
        for entry in self.entries:
            for state in entry.flags:
                if state and flagged:
                    continue  # set again: nothing changes
                if not state and not flagged:  # cleared, but never set as far as we can read
                    self.changes.append(self._missing_set(item_id, entry.order, entry.at))
                self.changes.append(FlagChange(item_id, entry.at, state))
                flagged, self.last_order = state, entry.order
        if flagged_now and not flagged:
            self.changes.append(self._missing_set(item_id, None, updated))
        return self.changes

    def _missing_set(self, item_id: str, before: int | None, latest: datetime) -> FlagChange:
        """The set that must precede the change at ``before`` (None: now), known by ``latest``."""
        suspects = [
            s.order
            for s in self.skipped
            if s.may_flag
            and (self.last_order is None or s.order > self.last_order)
            and (before is None or s.order < before)
        ]
        if not suspects and not self.changes:
            return FlagChange(item_id, self.created, True)
        evidence = latest
        if suspects:
            after = max(suspects)
            later = [e.at for e in self.entries if e.order > after and e.at <= latest]
            evidence = min(later, default=latest)
        if self.changes:
            evidence = max(evidence, self.changes[-1].at)
        log.warning(
            "jira: %s was flagged by a change that is unreadable; that block is counted from "
            "the earliest evidence, %s",
            self.key,
            evidence.isoformat(),
        )
        return FlagChange(item_id, evidence, True, inferred=True)


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


def _releases(value: Any, key: str) -> tuple[tuple[str, ...], int]:
    """The names of an issue's fix versions in Jira's order; 1 when some were unreadable.

    ``fixVersions`` is a list of version objects (``id``, ``name``, ``released``,
    ``releaseDate``...); only the names are kept here, the dates come from the project's versions.
    """
    if value is None:
        return (), 0
    if not isinstance(value, list):
        log.warning("jira: ignored the fixVersions of %s: not a list", key)
        return (), 1
    names = [_text(_get(version, "name")) for version in value]
    kept = tuple(name for name in names if name is not None)
    if len(kept) == len(names):
        return kept, 0
    log.warning("jira: ignored %d unreadable fixVersions of %s", len(names) - len(kept), key)
    return kept, 1


def _due_on(value: Any, key: str) -> tuple[date | None, int]:
    """An issue's ``duedate``; 1 when it is set but unreadable."""
    if value is None:
        return None, 0
    try:
        return parse_day(value), 0
    except ValueError as exc:
        log.warning("jira: ignored the duedate of %s: %s", key, exc)
        return None, 1


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
            "id": status.get("id"),
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
    versions = fields.get("fixVersions")
    if isinstance(versions, list):
        kept["fixVersions"] = [
            {"name": v.get("name")} if isinstance(v, Mapping) else v for v in versions
        ]
    elif "fixVersions" in fields:
        kept["fixVersions"] = versions
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
        return _issue_time(_get(issue, "fields", "updated"))
    except ValueError:
        return None


def to_item_history(
    issue: Mapping[str, Any], histories: Sequence[Any], ctx: MappingContext
) -> tuple[ItemHistory, int]:
    """Map one issue and its full changelog; return it and the unreadable parts skipped.

    Those are changelog entries, and the fix versions or due date (each ignored on its own: the
    rest of the issue is kept).

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
        updated = _issue_time(_required(fields, "updated", key))
        resolved = fields.get("resolutiondate")
        resolved_at = parse_time(resolved) if resolved else None
    except ValueError as exc:
        raise MalformedIssue(f"issue {key}: {exc}") from None
    ctx.learn_categories([fields["status"]], fresh=True)
    status_id = _status_id(_get(fields, "status", "id"))
    category = _text(_get(fields, "status", "statusCategory", "key"))
    resolution = _text(_get(fields, "resolution", "name"))
    item_id = make_id("jira", "issue", key)
    entries, skipped = _entries(key, histories, ctx.fields.flagged)
    walk = _transitions(item_id, entries, ctx)
    flagged_now = ctx.fields.flagged is not None and bool(fields.get(ctx.fields.flagged))
    flags = _FlagTimeline(key, entries, skipped, created).walk(flagged_now, updated)
    epic = fields.get(ctx.fields.epic_link) if ctx.fields.epic_link else None
    releases, bad_releases = _releases(fields.get("fixVersions"), key)
    due_on, bad_due = _due_on(fields.get("duedate"), key)
    item = WorkItem(
        id=item_id,
        team=ctx.team,
        source="jira",
        key=key,
        kind=ItemKind.ISSUE,
        type=_text(_get(fields, "issuetype", "name")) or "Unknown",
        title=summary if isinstance(summary := fields.get("summary"), str) else "",
        status=status,
        stage=ctx.stage(status, status_id, resolution, walk.stage_before(status), category),
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
        releases=releases,
        due_on=due_on,
    )
    bad = len(skipped) + bad_releases + bad_due
    return ItemHistory(item, tuple(walk.transitions), tuple(flags)), bad
