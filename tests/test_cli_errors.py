"""Bad input and a broken environment get one line saying what is wrong and what to do.

Status 2 for a usage error (the command line), 1 for the environment (the database, the disk):
never a traceback.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.config import load_config
from bot.runtime import open_runtime
from bot.sync import sync_teams
from storage.db import make_engine
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

CELL_LIMIT = 131072  # Python's csv field_size_limit


def vsm(database: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(DEMO_CONFIG), "--database", database, *args])


def assert_explained(result: Result, status: int, *phrases: str) -> None:
    """Exited with ``status`` through click (no crash), with every phrase in the message."""
    assert result.exit_code == status, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    for phrase in phrases:
        assert phrase in result.output


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def synced(demo_runtime) -> str:
    """The demo team synced into a SQLite file; its URL."""
    sync_teams(demo_runtime)
    return str(demo_runtime.engine.url)


def test_an_unreachable_postgresql_is_one_line_and_status_1(closed_port) -> None:
    url = f"postgresql://vsm:hunter2hunter2@127.0.0.1:{closed_port}/vsm"

    result = vsm(url, "report")

    assert_explained(
        result,
        1,
        f"cannot connect to PostgreSQL at 127.0.0.1:{closed_port}/vsm",
        "VSM_DATABASE_URL",
    )
    assert "hunter2hunter2" not in result.output


def test_a_read_only_sqlite_file_is_one_line_and_status_1(
    synced, demo_runtime, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a URI file name once made a folder named "file:" here
    path = demo_runtime.engine.url.database
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"

    report = vsm(read_only, "report", "--as-of", NOW.isoformat())
    sync = vsm(read_only, "sync")

    assert report.exit_code == 0, report.output  # reading needs no write access
    assert_explained(sync, 1, f"the database {path} is read-only", "write access")


def test_a_file_that_is_not_a_database_is_one_line_and_status_1(tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, just some notes\n" * 100)

    result = vsm(f"sqlite:///{notes}", "report")

    assert_explained(result, 1, f"{notes} is not an SQLite database")


@pytest.mark.parametrize("url", ["nonsense", "mysql://vsm@localhost/vsm"])
def test_a_database_url_vsm_cannot_use_is_a_usage_error(url) -> None:
    assert_explained(vsm(url, "report"), 2, "sqlite:///", "postgresql://")


@pytest.mark.parametrize(
    "as_of", ["9999-12-31", "0001-01-01", "9999-12-31T23:00:00-05:00", "1969-12-31T23:59:59Z"]
)
@pytest.mark.parametrize("command", ["report", "chart"])
def test_an_as_of_out_of_range_is_a_usage_error(synced, command, as_of, tmp_path) -> None:
    out = tmp_path / "never.png"
    chart = ["cfd", "--out", str(out)] if command == "chart" else []

    result = vsm(synced, command, *chart, "--as-of", as_of)

    assert_explained(result, 2, "--as-of", "between 1970-01-01 and 9000-12-31")
    assert not out.exists()


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize("at", [EARLIEST, LATEST], ids=["earliest", "latest"])
def test_reports_and_charts_work_at_both_ends_of_the_range(tmp_path, at) -> None:
    """The widest window, a forecast and every chart, with demo data right at the bound."""
    database = f"sqlite:///{tmp_path / 'vsm.db'}"
    runtime = open_runtime(load_config(DEMO_CONFIG, env={}), database=database, clock=lambda: at)
    runtime.sleep = lambda seconds: None
    sync_teams(runtime)
    as_of = ["--as-of", at.isoformat()]

    report = vsm(database, "report", "--json", "--window", "3650", *as_of)
    charts = [
        vsm(database, "chart", kind, "--window", "3650", "--out", str(tmp_path / "c.png"), *as_of)
        for kind in ("scatter", "aging", "cfd", "throughput", "forecast", "dora")
    ]
    when = vsm(database, "chart", "forecast", "--items", "500", "--out", str(tmp_path / "w.png"),
               *as_of)  # fmt: skip

    for result in (report, *charts, when):
        assert result.exit_code == 0, result.output


def test_a_chart_window_past_ten_years_is_a_usage_error(synced, tmp_path) -> None:
    result = vsm(synced, "chart", "cfd", "--window", "100000000", "--out", str(tmp_path / "x.png"))

    assert_explained(result, 2, "--window")


def test_chart_out_empty_is_a_usage_error(synced) -> None:
    assert_explained(vsm(synced, "chart", "cfd", "--out", ""), 2, "--out", "needs a name")


def test_chart_out_on_a_full_disk_is_one_line_and_status_1(synced) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")

    result = vsm(synced, "chart", "cfd", "--as-of", NOW.isoformat(), "--out", "/dev/full")

    assert_explained(result, 1, "cannot write /dev/full: No space left on device")


def test_chart_out_in_a_missing_folder_is_a_usage_error_and_creates_nothing(
    synced, tmp_path
) -> None:
    missing = tmp_path / "no" / "such"

    result = vsm(synced, "chart", "cfd", "--out", str(missing / "cfd.png"))

    assert_explained(result, 2, f"{missing} is not an existing folder")
    assert not (tmp_path / "no").exists()


def test_demo_dir_empty_is_a_usage_error_and_deletes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    keep = tmp_path / "holiday.png"
    keep.write_bytes(b"\x89PNG")

    result = CliRunner().invoke(cli, ["demo", "--dir", ""])

    assert_explained(result, 2, "--dir")
    assert keep.exists()


def test_config_empty_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--config", "", "report"])

    assert_explained(result, 2, "--config")


def test_a_huge_csv_cell_costs_its_row_not_the_import(demo_runtime, tmp_path) -> None:
    """A value over the csv module's field limit is reported by line; the other rows are kept."""
    huge = tmp_path / "huge.csv"
    huge.write_text(
        "key,title,type,status,changed_at\n"
        "PAY-1,Fine,Story,Done,2026-11-02T10:00:00Z\n"
        f"PAY-2,{'x' * 200_000},Story,Done,2026-11-02T10:00:00Z\n"
        "PAY-3,Fine too,Story,Done,2026-11-02T10:00:00Z\n"
    )
    url = str(demo_runtime.engine.url)

    result = vsm(url, "import", "csv", str(huge), "--team", "payments")

    assert result.exit_code == 0, result.output
    assert "huge.csv line 3" in result.output and f"{CELL_LIMIT}" in result.output
    keys = {item.key for item in load_snapshot(make_engine(url), "payments").items}
    assert {"PAY-1", "PAY-3"} <= keys and "PAY-2" not in keys
