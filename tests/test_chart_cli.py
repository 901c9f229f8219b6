"""``vsm chart``: writes the PNG and prints its alt text; bad options are usage errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW


@pytest.fixture
def run(demo_runtime):
    sync_teams(demo_runtime)
    db = str(demo_runtime.engine.url)

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--config", str(DEMO_CONFIG), "--database", db, *args])

    return invoke


def test_chart_writes_the_png_and_says_what_it_shows(run, tmp_path) -> None:
    out = tmp_path / "aging.png"

    result = run("chart", "aging", "--as-of", NOW.isoformat(), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"wrote {out}" in result.output
    assert "Aging work in progress for payments" in result.output
    assert "as of 25 Nov 2026" in result.output


def test_forecast_options_reach_the_chart(run, tmp_path) -> None:
    when = run("chart", "forecast", "--as-of", NOW.isoformat(), "--items", "12",
               "--out", str(tmp_path / "when.png"))  # fmt: skip
    by = run("chart", "forecast", "--as-of", NOW.isoformat(), "--by", "2026-12-24",
             "--out", str(tmp_path / "by.png"))  # fmt: skip

    assert when.exit_code == 0, when.output
    assert "when 12 items will be done" in when.output
    assert by.exit_code == 0, by.output
    assert "to 24 Dec 2026" in by.output


def test_the_forecast_chart_samples_what_slack_forecasts_sample(run, tmp_path) -> None:
    usual = run("chart", "forecast", "--as-of", NOW.isoformat(), "--items", "12",
                "--out", str(tmp_path / "usual.png"))  # fmt: skip
    asked = run("chart", "forecast", "--as-of", NOW.isoformat(), "--items", "12",
                "--window", "30", "--out", str(tmp_path / "asked.png"))  # fmt: skip

    assert "daily throughput of the last 60 days" in usual.output
    assert "daily throughput of the last 30 days" in asked.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scatter", "--items", "3"], "only apply to the forecast chart"),
        (["forecast", "--items", "3", "--by", "2026-12-24"], "not both"),
        (["forecast", "--by", "24/12/2026"], "YYYY-MM-DD"),
        (["forecast", "--by", "2026-11-01"], "after the as-of date 2026-11-25"),
        (["cfd", "--window", "0"], "--window"),
        (["pie"], "'pie' is not one of"),
    ],
)
def test_bad_options_are_usage_errors(run, tmp_path, args, message) -> None:
    result = run("chart", *args, "--as-of", NOW.isoformat(), "--out", str(tmp_path / "x.png"))

    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.png").exists()


def test_a_chart_as_of_the_past_draws_the_items_as_they_were_then(run, tmp_path) -> None:
    """The aging chart as of a week ago counts the items in progress then, not today's."""
    week_ago = NOW - timedelta(days=7)
    out = tmp_path / "aging.png"
    report = json.loads(run("report", "--json", "--as-of", week_ago.isoformat()).output)

    result = run("chart", "aging", "--as-of", week_ago.isoformat(), "--out", str(out))

    assert result.exit_code == 0, result.output
    in_progress = int(report["metrics"]["wip"])
    assert f"{in_progress} items." in result.output
