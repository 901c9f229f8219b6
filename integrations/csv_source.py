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
(``15/Jan/26 2:05 PM``); those without an offset are read in ``timezone``.

No row is lost silently: each is either kept or reported with its line number and the reason. A
bad row is skipped and the rest kept; a quote left open (which Python's csv reads on to the next
quote or the end of the file), or a value over the csv module's field limit, costs only the row it
starts on (see :class:`_Records`). A ``url`` that is not an http(s) link is dropped, its row kept,
and reported too.

Every page asks storage to merge the histories into what it holds (``Page.merge_histories``):
importing a second file, or the current state of an item imported before, adds to its history and
never erases it. The cursor is the file's SHA-256, saved with the last page, so an unchanged file
is not imported twice; an import that failed part-way leaves no cursor, and running it again reads
the whole file, which merging makes harmless (rows already stored are stored once).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from insights.model import ItemHistory, ItemKind, Page, Stage, Transition, WorkItem, make_id
from insights.workflow import Workflow, is_committed
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
WEB_LINK = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)
QUOTE = '"'
LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
"""After each line's end: ``\n``, ``\r\n`` or a lone ``\r`` (Excel's "CSV (Macintosh)")."""
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
    """What a file yields: item histories, the rows left out and the links dropped, by line."""

    histories: list[ItemHistory] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dropped_links: list[str] = field(default_factory=list)


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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999
        raise BadRow(
            f"{column} {text!r} is out of range; use a real date such as 2026-03-01T14:05:00Z"
        ) from None


def _number(text: str, column: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRow(f"{column} {text!r} is not a number")
    return value


def _is_web_link(text: str) -> bool:
    """True for an http(s) link without spaces or control characters."""
    return WEB_LINK.fullmatch(text) is not None and text.isprintable()


def _csv_reason(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return (
            f"a value is longer than {csv.field_size_limit()} characters, the most the CSV "
            "reader takes; shorten it"
        )
    return f"not readable as CSV ({exc})"


class _Lines:
    """A text's physical lines, handed to ``csv.reader`` one by one from ``position`` (from 0)."""

    def __init__(self, text: str) -> None:
        self.lines = [line for line in LINE_END.split(text) if line]
        self.position = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


class _Records:
    """A CSV text's records with the line each starts on; a broken one is reported, not followed.

    Python's csv reads a quote left open on to the next quote or the end of the file, taking the
    rows in between as one value, and gives up on a value over its field limit. So a record over
    several lines is a row only when it has the header's width and none of its later lines reads
    as a whole row by itself (leaving no quote open, with the header's width). Otherwise, and
    after a csv error, the record is reported by its first line (in ``problems``) and reading
    goes on at the line after it: a broken row costs itself only.
    """

    def __init__(self, text: str, delimiter: str, problems: list[str]) -> None:
        self.lines = _Lines(text)
        self.delimiter = delimiter
        self.reader = csv.reader(self.lines, delimiter=delimiter)
        self.problems = problems
        self.width = 0

    def header(self) -> list[str] | None:
        """The first record (None for an empty text); BadRow when it is not one whole line."""
        try:
            header = next(self.reader, None)
        except csv.Error as exc:
            raise BadRow(_csv_reason(exc)) from None
        if self.lines.position > 1:
            raise BadRow("it runs over several lines; a quote in it is probably not closed")
        self.width = len(header or ())
        return header

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            start = self.lines.position
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._skip(start, _csv_reason(exc))
                continue
            problem = self._problem(row, start, self.lines.position)
            if problem is None:
                yield start + 1, row
            else:
                self._skip(start, problem)

    def _skip(self, start: int, reason: str) -> None:
        self.problems.append(f"line {start + 1}: {reason}")
        self.lines.position = start + 1

    def _problem(self, row: list[str], start: int, end: int) -> str | None:
        """Why the record read from lines ``start`` to ``end - 1`` (from 0) is not a row, if so."""
        found = f"expected {self.width} columns, found {len(row)}"
        if end - start == 1:
            if len(row) == self.width:
                return None
            unclosed = self.lines.lines[start].count(QUOTE) % 2
            return f"{found}: a quote is probably not closed" if unclosed else found
        resume = (
            f"; the row is skipped and reading goes on at line {start + 2} "
            '(a quote inside a value is written "")'
        )
        if len(row) != self.width:
            return f"{found} over lines {start + 1}-{end}: a quote is probably not closed{resume}"
        for index in range(start + 1, end):
            if self._is_row(self.lines.lines[index]):
                return (
                    f"a quoted value runs on over line {index + 1}, which is a row by itself: "
                    f"the quote is probably not closed{resume}"
                )
        return None

    def _is_row(self, line: str) -> bool:
        if line.count(QUOTE) % 2:
            return False  # it closes a quoted value
        try:
            row = next(csv.reader([line], delimiter=self.delimiter), [])
        except csv.Error:
            return False
        return len(row) == self.width


class _Table:
    """Rows addressed by column name; Jira repeats some names (Labels, Sprint)."""

    def __init__(self, header: Sequence[str]) -> None:
        self.columns: dict[str, list[int]] = {}
        for index, name in enumerate(header):
            self.columns.setdefault(name.strip(), []).append(index)

    def clear(self, row: list[str], name: str) -> None:
        for index in self.columns.get(name, ()):
            row[index] = ""

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

    def stage(
        self, status: str, category: str, resolution: str | None, before: Stage | None = None
    ) -> Stage:
        """The stage of ``status`` entered from the stage ``before`` (None: at creation)."""
        return self.workflow.stage_for(
            status, CATEGORY_KEYS.get(category.lower()), resolution, is_committed(before)
        )

    def jira(self, header: Sequence[str], rows: _Records, out: Parsed) -> None:
        table = _Table(header)
        missing = [c for c in JIRA_REQUIRED if c not in table.columns]
        if missing:
            raise SourceError(f"csv: the Jira export lacks the column(s) {', '.join(missing)}")
        items: dict[str, WorkItem] = {}
        keys_by_id: dict[str, str] = {}
        parents: dict[str, str] = {}
        for line, row in rows:
            try:
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

    def generic(self, header: Sequence[str], rows: _Records, out: Parsed) -> None:
        table = _Table([h.lower() for h in header])
        changes: dict[str, list[tuple[datetime, int, list[str]]]] = {}
        for line, row in rows:
            try:
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
            url = table.get(row, "url")
            if url and not _is_web_link(url):
                out.dropped_links.append(
                    f"line {line}: url {url!r} is not an http(s) link; the link is dropped, "
                    "the row kept"
                )
                table.clear(row, "url")
            changes.setdefault(key, []).append((when, line, row))
        out.histories = [self._generic_history(table, k, rs) for k, rs in changes.items()]

    def _row_stage(
        self, t: _Table, row: list[str], before: Stage | None, with_resolution: bool = True
    ) -> Stage:
        resolution = t.get(row, "resolution") if with_resolution else ""
        status, category = t.get(row, "status"), t.get(row, "category")
        return self.stage(status, category, resolution or None, before)

    def _generic_history(
        self, t: _Table, key: str, rows: list[tuple[datetime, int, list[str]]]
    ) -> ItemHistory:
        rows.sort(key=lambda r: (r[0], r[1]))
        iid = make_id("csv", "issue", key)

        def last(column: str) -> str:
            return next((v for _, _, r in reversed(rows) if (v := t.get(r, column))), "")

        transitions: list[Transition] = []
        previous = rows[0]
        entered_from: Stage | None = None  # the stage before the previous row's status
        for current in rows[1:]:
            before, after = t.get(previous[2], "status"), t.get(current[2], "status")
            if before == after:
                continue  # a repeated row, not a change
            from_stage = self._row_stage(t, previous[2], entered_from, with_resolution=False)
            to_stage = self._row_stage(t, current[2], from_stage)
            transitions.append(Transition(iid, current[0], before, after, from_stage, to_stage))
            previous, entered_from = current, from_stage
        status = t.get(rows[-1][2], "status")
        stage = self._row_stage(t, rows[-1][2], entered_from)
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
        self.dropped_links: list[str] = []

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
        parsed = Parsed()
        rows = _Records(text, self.config.delimiter, parsed.problems)
        try:
            header = rows.header()
        except BadRow as exc:
            raise SourceError(f"csv: the header row (line 1) of {self.path}: {exc}") from None
        if header is None:
            raise SourceError(f"csv: {self.path} is empty; it needs a header row")
        fmt = detect_format(header) if self.config.format == "auto" else self.config.format
        reader = _Reader(self.ctx.team, self.ctx.workflow, ZoneInfo(self.config.timezone))
        (reader.jira if fmt == "jira" else reader.generic)(header, rows, parsed)
        for note in parsed.problems + parsed.dropped_links:
            log.warning("csv %s: %s", self.path.name, note)
        self.problems, self.dropped_links = parsed.problems, parsed.dropped_links
        return digest, parsed

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield the file's items in pages; nothing when the file is unchanged since ``cursor``."""
        digest, parsed = self._read()
        if cursor == digest:
            self.problems, self.dropped_links = [], []
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
                merge_histories=True,
            )
        if not histories:
            yield Page(
                cursor=digest,
                skipped=len(parsed.problems),
                unmapped_statuses=unmapped,
                merge_histories=True,
            )

    def dry_run(self) -> dict[str, int]:
        """Count the items, transitions, bad rows and dropped links in the file, storing nothing."""
        _, parsed = self._read()
        return {
            "items": len(parsed.histories),
            "transitions": sum(len(h.transitions) for h in parsed.histories),
            "bad rows": len(parsed.problems),
            "dropped links": len(parsed.dropped_links),
        }


def build(config: Config, ctx: SourceContext) -> CsvSource:
    """Build the CSV source from its app.yaml section."""
    return CsvSource(config, ctx)
