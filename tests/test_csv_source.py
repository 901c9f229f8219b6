"""CSV import: the generic format and Jira's export, bad rows by line number, ``vsm import csv``."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from insights.model import ItemHistory, Page, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext, SourceError
from integrations.csv_source import Config, CsvSource, build
from storage.db import make_engine
from storage.snapshots import load_snapshot, table_counts

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "csv"
WORKFLOW = {
    "Backlog": "backlog",
    "In Progress": "active",
    "Done": "done",
    "Won't Do": "cancelled",
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def source(path: Path, **settings) -> CsvSource:
    context = SourceContext(
        team="payments",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: at(25, 16),
        sleep=lambda s: None,
    )
    return build(Config(path=str(path), **settings), context)


def by_key(pages: list[Page]) -> dict[str, ItemHistory]:
    return {h.item.key: h for page in pages for h in page.histories}


def test_the_generic_format_gives_items_with_their_transitions() -> None:
    csv = source(FIXTURES / "generic.csv", timezone="Europe/Berlin")
    pages = list(csv.pull(None))
    got = by_key(pages)
    assert set(got) == {"PAY-1", "PAY-2", "PAY-3"}
    pay1 = got["PAY-1"]
    item = pay1.item
    assert (item.id, item.source, item.title, item.type) == (
        "csv:issue:PAY-1",
        "csv",
        "Refund endpoint times out",
        "Story",
    )
    assert (item.status, item.stage, item.assignee) == ("Done", Stage.DONE, "Dana Ruiz")
    assert (item.created_at, item.updated_at, item.resolved_at) == (
        at(2, 9),
        at(9, 16, 45),
        at(9, 16, 45),
    )
    assert (item.labels, item.story_points) == (("backend", "payments"), 5.0)
    assert [
        (t.at, t.from_status, t.to_status, t.from_stage, t.to_stage) for t in pay1.transitions
    ] == [
        (at(4, 8, 30), "Backlog", "In Progress", Stage.BACKLOG, Stage.ACTIVE),  # 09:30 Berlin
        (at(9, 16, 45), "In Progress", "Done", Stage.ACTIVE, Stage.DONE),
    ]
    pay2 = got["PAY-2"]
    assert pay2.item.title == "Currency rounding\nreturns 500 for EUR"
    assert (pay2.item.status, pay2.item.stage) == ("Peer Review", Stage.ACTIVE)  # by category
    assert pay2.item.resolved_at is None
    assert got["PAY-3"].item.stage is Stage.CANCELLED
    assert pages[-1].unmapped_statuses == {"Peer Review"}


def test_bad_generic_rows_are_reported_by_line_and_the_rest_kept() -> None:
    csv = source(FIXTURES / "generic.csv")
    pages = list(csv.pull(None))
    assert csv.problems == [
        "line 9: changed_at 'yesterday' is not a date; use ISO 8601 such as 2026-03-01T14:05:00Z",
        "line 10: key, status and changed_at must not be empty",
        "line 11: story_points 'lots' is not a number",
        "line 14: expected 9 columns, found 5",
    ]
    assert sum(p.skipped for p in pages) == 4
    assert [t.to_status for t in by_key(pages)["PAY-3"].transitions] == ["Won't Do"]


def test_a_jira_export_gives_items_in_their_current_status() -> None:
    csv = source(FIXTURES / "jira_export.csv")
    got = by_key(list(csv.pull(None)))
    assert set(got) == {"PAY-100", "PAY-1", "PAY-2", "PAY-3", "PAY-5"}
    pay1 = got["PAY-1"].item
    assert (pay1.title, pay1.type, pay1.status, pay1.stage) == (
        "Refund endpoint times out under load",
        "Story",
        "Done",
        Stage.DONE,
    )
    assert (pay1.created_at, pay1.updated_at, pay1.resolved_at) == (
        at(2, 9),
        at(9, 16, 45),
        at(9, 16, 45),
    )
    assert (pay1.assignee, pay1.priority, pay1.labels) == (
        "Dana Ruiz",
        "High",
        ("backend", "payments"),
    )
    assert (pay1.story_points, pay1.parent_key) == (5.0, "PAY-100")  # parent named by its id
    assert got["PAY-1"].transitions == ()
    pay2 = got["PAY-2"].item
    assert (pay2.blocked_by, pay2.resolved_at, pay2.title) == (
        ("PAY-7",),
        None,
        "Currency rounding\nreturns 500 for EUR",
    )
    assert got["PAY-3"].item.stage is Stage.CANCELLED
    assert got["PAY-5"].item.stage is Stage.ACTIVE  # "In Design", by its status category
    assert csv.problems == [
        "line 7: Created 'someday' is not a date; use ISO 8601 such as 2026-03-01T14:05:00Z",
        "line 8: Issue key, Status and Created must not be empty",
        "line 9: expected 26 columns, found 4",
    ]


def test_an_unchanged_file_is_not_imported_twice(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    shutil.copy(FIXTURES / "generic.csv", path)
    first = list(source(path).pull(None))
    assert first[-1].cursor is not None and all(p.cursor is None for p in first[:-1])
    assert list(source(path).pull(first[-1].cursor)) == []
    path.write_text(path.read_text() + "PAY-6,Webhooks,Story,Backlog,2026-11-20T10:00:00Z,,,,\n")
    again = by_key(list(source(path).pull(first[-1].cursor)))
    assert "PAY-6" in again


def test_large_files_come_in_pages(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = [f"PAY-{n},Item {n},Story,Backlog,2026-11-01T09:00:00Z" for n in range(1, 1201)]
    path.write_text("key,title,type,status,changed_at\n" + "\n".join(rows) + "\n")
    pages = list(source(path).pull(None))
    assert [len(p.histories) for p in pages] == [500, 500, 200]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty; it needs a header row"),
        (b"id,name\n1,x\n", "the header matches neither format"),
        (b"key,title\xff\n", "is not UTF-8"),
    ],
)
def test_unusable_files_stop_with_a_clear_error(tmp_path: Path, content: bytes, message) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        list(source(path).pull(None))


def test_a_missing_file_is_named() -> None:
    with pytest.raises(SourceError, match=r"file not found: /nowhere/flow\.csv"):
        list(source(Path("/nowhere/flow.csv")).pull(None))


def test_a_forced_format_needs_its_columns() -> None:
    with pytest.raises(SourceError, match="lacks the column"):
        list(source(FIXTURES / "generic.csv", format="jira").pull(None))


def test_dry_run_counts() -> None:
    assert source(FIXTURES / "generic.csv").dry_run() == {
        "items": 3,
        "transitions": 5,
        "bad rows": 4,
        "dropped links": 0,
    }


def test_a_bad_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Config(path="x.csv", timezone="Mars/Olympus")


@pytest.fixture
def app(tmp_path: Path) -> Path:
    config = {
        "database": f"sqlite:///{tmp_path / 'vsm.db'}",
        "teams": [
            {"name": "payments", "timezone": "Europe/Berlin", "workflow": WORKFLOW},
            {"name": "ops", "workflow": WORKFLOW},
        ],
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_vsm_import_csv_stores_the_good_rows_and_lists_the_bad(app: Path) -> None:
    file = str(FIXTURES / "generic.csv")
    result = CliRunner().invoke(
        cli, ["--config", str(app), "import", "csv", file, "--team", "payments"]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "skipped generic.csv line 9: changed_at 'yesterday' is not a date" in output
    assert "line 14: expected 9 columns, found 5" in output
    assert "Peer Review" in output  # unmapped, with the advice to map it
    engine = make_engine(f"sqlite:///{app.parent / 'vsm.db'}")
    snapshot = load_snapshot(engine, "payments")
    assert [i.key for i in snapshot.items] == ["PAY-1", "PAY-2", "PAY-3"]
    assert snapshot.transitions["csv:issue:PAY-1"][0].at == at(4, 8, 30)  # the team's zone
    counts = table_counts(engine)
    again = CliRunner().invoke(
        cli, ["--config", str(app), "import", "csv", file, "--team", "payments"]
    )
    assert again.exit_code == 0 and "unchanged since its last import" in again.output
    assert table_counts(engine) == counts


def test_vsm_import_csv_needs_a_team_when_there_are_several(app: Path) -> None:
    file = str(FIXTURES / "generic.csv")
    result = CliRunner().invoke(cli, ["--config", str(app), "import", "csv", file])
    assert result.exit_code == 2
    assert "several teams are configured; choose one with --team" in result.output


def test_a_csv_source_in_app_yaml_syncs(tmp_path: Path) -> None:
    config = {
        "database": f"sqlite:///{tmp_path / 'vsm.db'}",
        "teams": [
            {
                "name": "payments",
                "workflow": WORKFLOW,
                "sources": [{"type": "csv", "path": str(FIXTURES / "jira_export.csv")}],
            }
        ],
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(cli, ["--config", str(path), "sync"])
    assert result.exit_code == 0, result.output
    assert table_counts(make_engine(f"sqlite:///{tmp_path / 'vsm.db'}"))["items"] == 5


def test_an_unknown_status_after_the_start_keeps_the_item_started(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    path.write_text(
        "key,title,type,status,changed_at\n"
        "PAY-1,Limbo,Story,Backlog,2026-11-02T09:00:00Z\n"
        "PAY-1,,,Limbo,2026-11-03T09:00:00Z\n"  # unknown, no category: backlog before the start
        "PAY-1,,,In Progress,2026-11-04T09:00:00Z\n"
        "PAY-1,,,Parked,2026-11-05T09:00:00Z\n"  # unknown, after the start: still started
        "PAY-1,,,Shelved,2026-11-06T09:00:00Z\n"
    )
    pay1 = by_key(list(source(path).pull(None)))["PAY-1"]
    assert [(t.to_status, t.from_stage, t.to_stage) for t in pay1.transitions] == [
        ("Limbo", Stage.BACKLOG, Stage.BACKLOG),
        ("In Progress", Stage.BACKLOG, Stage.ACTIVE),
        ("Parked", Stage.ACTIVE, Stage.WAITING),
        ("Shelved", Stage.WAITING, Stage.WAITING),
    ]
    assert pay1.item.stage is Stage.WAITING


def test_vsm_import_csv_lists_the_links_it_dropped_by_line(app: Path, tmp_path: Path) -> None:
    file = tmp_path / "links.csv"
    file.write_text(
        "key,title,type,status,changed_at,url\n"
        "PAY-1,Item,Story,Backlog,2026-11-01T09:00:00Z,javascript:alert(1)\n"
    )
    result = CliRunner().invoke(
        cli, ["--config", str(app), "import", "csv", str(file), "--team", "payments"]
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert (
        "dropped link links.csv line 2: url 'javascript:alert(1)' is not an http(s) link" in output
    )
