"""CSV files as a source: Jira's own CSV export, or a generic one-row-per-status-change format.

Generic format (any tool): a header row, then one row per status change, meaning "the item
entered ``status`` at ``changed_at``". Required columns: ``key``, ``title``, ``type``, ``status``,
``changed_at``. Optional: ``created_at`` (default: the item's first ``changed_at``),
``category`` (``To Do`` / ``In Progress`` / ``Done``, used for statuses the workflow lacks),
``resolution``, ``assignee``, ``priority``, ``labels`` (separated by ``;``), ``parent``,
``story_points``, ``url``. An item's first row is the status it was created in; each later row is
a transition from the row before. Item fields come from the item's last row that has them.

Jira's CSV export ("Export Excel CSV (all fields)") has no status history: each issue becomes an
item in its current status (cycle times treat a done item without history as started at creation
and finished at ``Resolved``). Export the status changes in the generic format for full history.

Timestamps are ISO 8601 (``2026-03-01T14:05:00Z``, ``2026-03-01 14:05``) or Jira's export format
(``15/Jan/26 2:05 PM``); those without an offset are read in ``timezone``. A bad row is reported
with its line number and skipped; the good rows are kept. The cursor is the file's SHA-256, so an
unchanged file is not imported twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from insights.model import ItemHistory, ItemKind, Page, Stage, Transition, WorkItem, make_id
from insights.workflow import Workflow
from integrations.base import SourceConfig, SourceContext, SourceError

SOURCE_TYPE = "csv"
PAGE_SIZE = 500
GENERIC_REQUIRED = ("key", "title", "type", "status", "changed_at")
JIRA_REQUIRED = ("Issue key", "Summary", "Issue Type", "Status", "Created")
JIRA_TIME_FORMATS = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M", "%Y/%m/%d %H:%M")
CATEGORY_KEYS = {
    "to do": "new",
    "new": "new",
    "in progress": "indeterminate",
    "indeterminate": "indeterminate",
    "done": "done",
}
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-\d+")
log = logging.getLogger(__name__)


class Config(SourceConfig):
    """The ``type: csv`` section of app.yaml (also built by ``vsm import csv``)."""

    type: Literal["csv"] = "csv"
    path: str
    format: Literal["auto", "jira", "generic"] = "auto"
    timezone: str = "UTC"
    delimiter: str = Field(default=",", min_length=1, max_length=1)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/London' or 'UTC'"
            ) from None
        return value


class BadRow(ValueError):
    """A row that cannot be used; the message says what is wrong with it."""


@dataclass
class Parsed:
    """What a file yields: item histories and the problems of the rows left out."""

    histories: list[ItemHistory] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_time(text: str, zone: ZoneInfo, column: str) -> datetime:
    """An instant in UTC from ISO 8601 or Jira's export format; naive ones are in ``zone``."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for pattern in JIRA_TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, pattern)  # noqa: DTZ007 - zone set below
                break
            except ValueError:
                continue
        else:
            raise BadRow(
                f"{column} {text!r} is not a date; use ISO 8601 such as 2026-03-01T14:05:00Z"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _number(text: str, column: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise BadRow(f"{column} {text!r} is not a number") from None


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each one starts on (quoted values may span lines)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


class _Table:
    """Rows addressed by column name; Jira repeats some names (Labels, Sprint)."""

    def __init__(self, header: Sequence[str]) -> None:
        self.width = len(header)
        self.columns: dict[str, list[int]] = {}
        for index, name in enumerate(header):
            self.columns.setdefault(name.strip(), []).append(index)

    def check(self, row: Sequence[str]) -> None:
        if len(row) != self.width:
            raise BadRow(f"expected {self.width} columns, found {len(row)}")

    def all(self, row: Sequence[str], name: str) -> list[str]:
        return [row[i].strip() for i in self.columns.get(name, ()) if row[i].strip()]

    def get(self, row: Sequence[str], *names: str) -> str:
        for name in names:
            values = self.all(row, name)
            if values:
                return values[0]
        return ""


def detect_format(header: Sequence[str]) -> Literal["jira", "generic"]:
    """Which format a header row belongs to; SourceError naming the columns when neither."""
    names = {h.strip() for h in header}
    if "Issue key" in names:
        return "jira"
    if {h.lower() for h in names} >= set(GENERIC_REQUIRED):
        return "generic"
    raise SourceError(
        "csv: the header matches neither format; the generic format needs the columns "
        f"{', '.join(GENERIC_REQUIRED)}, a Jira export has 'Issue key' (got: "
        f"{', '.join(header[:8])}{' ...' if len(header) > 8 else ''})"
    )


class _Reader:
    """Turns a CSV file's rows into item histories for one team."""

    def __init__(self, team: str, workflow: Workflow, zone: ZoneInfo) -> None:
        self.team = team
        self.workflow = workflow
        self.zone = zone

    def stage(self, status: str, category: str, resolution: str | None) -> Stage:
        return self.workflow.stage_for(status, CATEGORY_KEYS.get(category.lower()), resolution)

    def jira(self, header: Sequence[str], rows: Iterator[tuple[int, list[str]]]) -> Parsed:
        table, out = _Table(header), Parsed()
        missing = [c for c in JIRA_REQUIRED if c not in table.columns]
        if missing:
            raise SourceError(f"csv: the Jira export lacks the column(s) {', '.join(missing)}")
        items: dict[str, WorkItem] = {}
        keys_by_id: dict[str, str] = {}
        parents: dict[str, str] = {}
        for line, row in rows:
            try:
                table.check(row)
                item = self._jira_item(table, row)
            except BadRow as exc:
                out.problems.append(f"line {line}: {exc}")
                continue
            items[item.key] = item
            keys_by_id[table.get(row, "Issue id")] = item.key
            parents[item.key] = table.get(row, "Parent")
        for key, item in items.items():  # newer exports name the parent by its issue id
            if item.parent_key is None and parents[key] in keys_by_id:
                items[key] = replace(item, parent_key=keys_by_id[parents[key]])
        out.histories = [ItemHistory(item) for item in items.values()]
        return out

    def _jira_item(self, t: _Table, row: list[str]) -> WorkItem:
        key, status = t.get(row, "Issue key"), t.get(row, "Status")
        if not key or not status or not t.get(row, "Created"):
            raise BadRow("Issue key, Status and Created must not be empty")
        created = parse_time(t.get(row, "Created"), self.zone, "Created")
        updated = t.get(row, "Updated")
        resolved = t.get(row, "Resolved")
        written = t.get(row, "Resolution")
        resolution = None if written.lower() in ("", "unresolved") else written
        parent = t.get(row, "Parent key", "Parent", "Custom field (Epic Link)")
        points = t.get(row, "Custom field (Story point estimate)", "Custom field (Story Points)")
        return WorkItem(
            id=make_id("csv", "issue", key),
            team=self.team,
            source="csv",
            key=key,
            kind=ItemKind.ISSUE,
            type=t.get(row, "Issue Type") or "Unknown",
            title=t.get(row, "Summary"),
            status=status,
            stage=self.stage(status, t.get(row, "Status Category"), resolution),
            created_at=created,
            updated_at=parse_time(updated, self.zone, "Updated") if updated else created,
            resolved_at=parse_time(resolved, self.zone, "Resolved") if resolved else None,
            assignee=t.get(row, "Assignee") or None,
            priority=t.get(row, "Priority") or None,
            labels=tuple(t.all(row, "Labels")),
            parent_key=parent if ISSUE_KEY.fullmatch(parent) else None,
            story_points=_number(points, "story points"),
            blocked_by=tuple(t.all(row, "Inward issue link (Blocks)")),
        )

    def generic(self, header: Sequence[str], rows: Iterator[tuple[int, list[str]]]) -> Parsed:
        table, out = _Table([h.lower() for h in header]), Parsed()
        changes: dict[str, list[tuple[datetime, int, list[str]]]] = {}
        for line, row in rows:
            try:
                table.check(row)
                key, status, at = (table.get(row, c) for c in ("key", "status", "changed_at"))
                if not key or not status or not at:
                    raise BadRow("key, status and changed_at must not be empty")
                when = parse_time(at, self.zone, "changed_at")
                created = table.get(row, "created_at")
                if created:
                    parse_time(created, self.zone, "created_at")
                _number(table.get(row, "story_points"), "story_points")
            except BadRow as exc:
                out.problems.append(f"line {line}: {exc}")
                continue
            changes.setdefault(key, []).append((when, line, row))
        out.histories = [self._generic_history(table, k, rs) for k, rs in changes.items()]
        return out

    def _row_stage(self, t: _Table, row: list[str], with_resolution: bool = True) -> Stage:
        resolution = t.get(row, "resolution") if with_resolution else ""
        return self.stage(t.get(row, "status"), t.get(row, "category"), resolution or None)

    def _generic_history(
        self, t: _Table, key: str, rows: list[tuple[datetime, int, list[str]]]
    ) -> ItemHistory:
        rows.sort(key=lambda r: (r[0], r[1]))
        iid = make_id("csv", "issue", key)

        def last(column: str) -> str:
            return next((v for _, _, r in reversed(rows) if (v := t.get(r, column))), "")

        transitions: list[Transition] = []
        previous = rows[0]
        for current in rows[1:]:
            before, after = t.get(previous[2], "status"), t.get(current[2], "status")
            if before == after:
                continue  # a repeated row, not a change
            from_stage = self._row_stage(t, previous[2], with_resolution=False)
            to_stage = self._row_stage(t, current[2])
            transitions.append(Transition(iid, current[0], before, after, from_stage, to_stage))
            previous = current
        status = t.get(rows[-1][2], "status")
        stage = self._row_stage(t, rows[-1][2])
        created_text = next((v for _, _, r in rows if (v := t.get(r, "created_at"))), "")
        created = parse_time(created_text, self.zone, "created_at") if created_text else rows[0][0]
        finished = transitions[-1].at if transitions else created
        item = WorkItem(
            id=iid,
            team=self.team,
            source="csv",
            key=key,
            kind=ItemKind.ISSUE,
            type=last("type") or "Unknown",
            title=last("title") or key,
            status=status,
            stage=stage,
            created_at=min(created, rows[0][0]),
            updated_at=rows[-1][0],
            resolved_at=finished if stage.finished else None,
            assignee=last("assignee") or None,
            url=last("url") or None,
            priority=last("priority") or None,
            labels=tuple(x.strip() for x in last("labels").split(";") if x.strip()),
            parent_key=last("parent") or None,
            story_points=_number(last("story_points"), "story_points"),
        )
        return ItemHistory(item, tuple(transitions))


class CsvSource:
    """A CSV file of one team."""

    kind: ClassVar[str] = "csv"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.path = Path(config.path).expanduser()
        self.problems: list[str] = []

    def _read(self) -> tuple[str, Parsed]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"csv: file not found: {self.path}; check the path") from None
        except OSError as exc:
            raise SourceError(f"csv: cannot read {self.path}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"csv: {self.path} is not UTF-8 (byte {exc.start}); export it as UTF-8 CSV"
            ) from None
        rows = _rows(text, self.config.delimiter)
        first = next(rows, None)
        if first is None:
            raise SourceError(f"csv: {self.path} is empty; it needs a header row")
        header = first[1]
        fmt = detect_format(header) if self.config.format == "auto" else self.config.format
        reader = _Reader(self.ctx.team, self.ctx.workflow, ZoneInfo(self.config.timezone))
        parsed = reader.jira(header, rows) if fmt == "jira" else reader.generic(header, rows)
        for problem in parsed.problems:
            log.warning("csv %s: %s", self.path.name, problem)
        self.problems = parsed.problems
        return digest, parsed

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield the file's items in pages; nothing when the file is unchanged since ``cursor``."""
        digest, parsed = self._read()
        if cursor == digest:
            self.problems = []
            return
        histories = parsed.histories
        unmapped = frozenset(self.ctx.workflow.unmapped)
        for start in range(0, len(histories), PAGE_SIZE):
            chunk = histories[start : start + PAGE_SIZE]
            final = start + PAGE_SIZE >= len(histories)
            yield Page(
                histories=chunk,
                cursor=digest if final else None,
                skipped=len(parsed.problems) if final else 0,
                unmapped_statuses=unmapped,
            )
        if not histories:
            yield Page(cursor=digest, skipped=len(parsed.problems), unmapped_statuses=unmapped)

    def dry_run(self) -> dict[str, int]:
        """Count the items, transitions and bad rows in the file, storing nothing."""
        _, parsed = self._read()
        return {
            "items": len(parsed.histories),
            "transitions": sum(len(h.transitions) for h in parsed.histories),
            "bad rows": len(parsed.problems),
        }


def build(config: Config, ctx: SourceContext) -> CsvSource:
    """Build the CSV source from its app.yaml section."""
    return CsvSource(config, ctx)
