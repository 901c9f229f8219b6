"""Vendor text reaches the terminal as written: ``[/]`` in a status, title, URL or error is text.

Rich reads ``[...]`` as markup; a vendor string that looks like a tag used to crash the output
after the sync had stored everything.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from storage.db import make_engine
from storage.snapshots import load_snapshot
from tests.conftest import NOW

TAGGY = "[/]"
TITLE = "[bold]Refunds[/] time out"
STATUS = "Waiting [/] for vendor"
URL = "https://jira.example/browse/PAY-1?jql=[/]"
HEADER = "key,title,type,status,category,changed_at,url\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """app.yaml with a CSV source full of markup-like text and a source whose error has some."""
    good = tmp_path / "flow.csv"
    good.write_text(
        HEADER + f'PAY-1,"{TITLE}",Story,"{STATUS}",In Progress,2026-11-02T10:00:00Z,{URL}\n'
    )
    config = {
        "timezone": "UTC",
        "database": f"sqlite:///{tmp_path / 'vsm.db'}",
        "teams": [
            {
                "name": "payments",
                "channel": "#payments-flow",
                "sources": [
                    {"type": "csv", "name": f"ops {TAGGY} csv", "path": str(good)},
                    {"type": "csv", "name": "gone", "path": str(tmp_path / f"{TAGGY}gone.csv")},
                ],
                "workflow": {"Backlog": "backlog", "In Progress": "active", "Done": "done"},
            }
        ],
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def vsm(project: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(project), *args], env={"COLUMNS": "250"})


def test_sync_prints_vendor_statuses_errors_and_names_as_written(project, tmp_path) -> None:
    result = vsm(project, "sync")

    assert result.exit_code == 1, result.output  # the missing file fails its source
    assert isinstance(result.exception, SystemExit)
    assert f"payments/ops {TAGGY} csv" in result.output
    assert STATUS in result.output
    assert f"{TAGGY}gone.csv" in result.output
    snapshot = load_snapshot(make_engine(f"sqlite:///{tmp_path / 'vsm.db'}"), "payments")
    assert [item.title for item in snapshot.items] == [TITLE]


def test_report_prints_vendor_statuses_and_links_as_written(project) -> None:
    vsm(project, "sync")

    result = CliRunner().invoke(
        cli,
        ["--config", str(project), "report", "--as-of", NOW.isoformat()],
        env={"COLUMNS": "250", "FORCE_COLOR": "1"},  # a terminal: links are written out
    )

    assert result.exit_code == 0, result.output
    assert f"PAY-1 has not changed for 23.2 days (still {STATUS})" in result.output
    assert "\x1b]8;id=" in result.output and f";{URL}\x1b\\PAY-1 has" in result.output


def test_check_config_prints_a_vendor_error_as_written(project) -> None:
    result = vsm(project, "check-config")

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"{TAGGY}gone.csv" in result.output


def test_import_prints_bad_rows_as_written(project, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"PAY-2,Fine,Story,Done,Done,{TAGGY}soon,\n")

    result = vsm(project, "import", "csv", str(bad), "--team", "payments")

    assert result.exit_code == 0, result.output
    assert f"skipped bad.csv line 2: changed_at '{TAGGY}soon' is not a date" in result.output
