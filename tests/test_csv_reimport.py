"""Re-importing CSV files merges histories, and a failed import is resumed by running it again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.sync import SyncResult, pull_into
from insights.model import Stage
from insights.workflow import Workflow
from integrations.base import SourceContext
from integrations.csv_source import Config, CsvSource
from storage.pages import WriteCounts, load_cursor, save_page
from storage.snapshots import load_snapshot, table_counts

HEADER = "key,title,type,status,changed_at\n"
NOW = datetime(2026, 11, 25, 16, tzinfo=UTC)
WORKFLOW = {"Backlog": Stage.BACKLOG, "In Progress": Stage.ACTIVE, "Done": Stage.DONE}


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 9, tzinfo=UTC)


def source(path: Path) -> CsvSource:
    context = SourceContext("payments", Workflow(dict(WORKFLOW)), lambda: NOW, lambda s: None)
    return CsvSource(Config(path=str(path)), context)


def import_file(engine: Engine, path: Path, key: str = "payments/import") -> SyncResult:
    result = SyncResult(team="payments", source="csv", source_key=key)
    pull_into(engine, key, source(path), lambda: NOW, result)
    return result


def write(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def history(engine: Engine, item_id: str = "csv:issue:PAY-1") -> list[tuple[datetime, str, str]]:
    transitions = load_snapshot(engine, "payments").transitions.get(item_id, ())
    return [(t.at, t.from_status or "", t.to_status) for t in transitions]


def test_every_page_asks_storage_to_merge(tmp_path: Path) -> None:
    rows = [f"PAY-{n},Item {n},Story,Backlog,2026-11-01T09:00:00Z" for n in range(1, 601)]
    pages = list(source(write(tmp_path / "big.csv", *rows)).pull(None))
    assert len(pages) == 2 and all(page.merge_histories for page in pages)


def test_a_reimport_keeps_the_history_it_does_not_repeat(engine: Engine, tmp_path: Path) -> None:
    first = write(
        tmp_path / "first.csv",
        "PAY-1,Refunds,Story,Backlog,2026-11-02T09:00:00Z",
        "PAY-1,,,In Progress,2026-11-04T09:00:00Z",
        "PAY-1,,,Done,2026-11-09T09:00:00Z",
    )
    import_file(engine, first)
    assert len(history(engine)) == 2
    current = write(tmp_path / "current.csv", "PAY-1,Refunds,Story,Done,2026-11-09T09:00:00Z")
    import_file(engine, current)
    assert history(engine) == [
        (at(4), "Backlog", "In Progress"),
        (at(9), "In Progress", "Done"),
    ]


def test_a_second_file_adds_its_transitions_to_the_first(engine: Engine, tmp_path: Path) -> None:
    first = write(
        tmp_path / "october.csv",
        "PAY-1,Refunds,Story,Backlog,2026-11-02T09:00:00Z",
        "PAY-1,,,In Progress,2026-11-04T09:00:00Z",
    )
    second = write(
        tmp_path / "november.csv",
        "PAY-1,Refunds,Story,In Progress,2026-11-04T09:00:00Z",
        "PAY-1,,,Done,2026-11-09T09:00:00Z",
    )
    import_file(engine, first, "payments/import:october.csv")
    import_file(engine, second, "payments/import:november.csv")
    assert history(engine) == [
        (at(4), "Backlog", "In Progress"),
        (at(9), "In Progress", "Done"),
    ]
    [item] = load_snapshot(engine, "payments").items
    assert (item.status, item.stage, item.resolved_at) == ("Done", Stage.DONE, at(9))


def test_a_reimport_keeps_the_earliest_creation(engine: Engine, tmp_path: Path) -> None:
    first = write(
        tmp_path / "first.csv",
        "PAY-1,Refunds,Story,Backlog,2026-11-02T09:00:00Z",
        "PAY-1,,,In Progress,2026-11-04T09:00:00Z",
    )
    later = write(tmp_path / "later.csv", "PAY-1,Refunds,Story,In Progress,2026-11-04T09:00:00Z")
    import_file(engine, first)
    import_file(engine, later)
    [item] = load_snapshot(engine, "payments").items
    assert item.created_at == at(2)


def test_a_failed_import_run_again_stores_every_row_once(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        row
        for n in range(1, 1201)
        for row in (
            f"PAY-{n},Item {n},Story,Backlog,2026-11-01T09:00:00Z",
            f"PAY-{n},,,In Progress,2026-11-02T09:00:00Z",
        )
    ]
    path = write(tmp_path / "big.csv", *rows)
    calls = []

    def fail_on_the_second_page(*args: Any, **kwargs: Any) -> WriteCounts:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return save_page(*args, **kwargs)

    monkeypatch.setattr("bot.sync.save_page", fail_on_the_second_page)
    with pytest.raises(RuntimeError):
        import_file(engine, path)
    assert load_cursor(engine, "payments/import") is None  # the rerun reads the whole file
    monkeypatch.undo()
    result = import_file(engine, path)
    counts = table_counts(engine)
    assert (counts["items"], counts["transitions"], result.skipped) == (1200, 1200, 0)
    assert load_cursor(engine, "payments/import") is not None
