"""The CLI end to end on the demo: the digest names the planted problems; bad input is explained."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from bot.cli import cli
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW


def run(runtime, *args: str):
    db = str(runtime.engine.url)
    return CliRunner().invoke(cli, ["--config", str(DEMO_CONFIG), "--database", db, *args])


def test_vsm_demo_prints_a_digest_with_aging_and_blocked_items(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--dir", str(tmp_path / "demo")], env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    focus = re.search(r"Focus \((\d) of (\d+) items\)", result.output)
    assert focus and 1 <= int(focus[1]) <= 5 <= int(focus[2])  # the demo runs on today's clock
    assert "has not changed for" in result.output  # a stale (and aging) item
    assert "has been blocked for" in result.output
    named = re.findall(r"● (PAY-\d+)", result.output)
    assert named and len(named) == len(set(named))  # one line per item, never twice
    assert "WIP 18 / limit 10" in result.output
    assert "vsm serve" in result.output
    assert (tmp_path / "demo" / "vsm.db").exists()
    charts = sorted(p.name.split("-")[0] for p in (tmp_path / "demo").glob("*.png"))
    assert charts == ["aging", "burnup", "cfd", "dora", "forecast", "map", "scatter", "throughput"]
    assert re.search(r"Value stream of payments: lead time p50 \S+ \S+, p85", result.output)
    assert "Where the time goes:" in result.output


def test_report_json_as_of_is_reproducible(demo_runtime) -> None:
    sync_teams(demo_runtime)
    as_of = NOW.isoformat()

    first = run(demo_runtime, "report", "--json", "--as-of", as_of)
    second = run(demo_runtime, "report", "--json", "--as-of", as_of)

    assert first.exit_code == 0, first.output
    assert first.output == second.output
    data = json.loads(first.output)
    assert data["as_of"].startswith("2026-11-25T16:00")
    assert data["team"] == "payments"


def test_unknown_team_is_a_usage_error(demo_runtime) -> None:
    result = run(demo_runtime, "report", "--team", "nope")
    assert result.exit_code == 2
    assert "no team named 'nope'" in result.output


def test_bad_as_of_is_explained(demo_runtime) -> None:
    result = run(demo_runtime, "report", "--as-of", "yesterday")
    assert result.exit_code == 2
    assert "ISO 8601" in result.output
