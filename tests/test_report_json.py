"""``vsm report --json`` on the demo: valid against the documented schema, consistent inside."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from bot.cli import cli
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW

SCHEMA = json.loads((Path(__file__).parent / "report_schema.json").read_text())


def report_json(runtime, *args: str) -> dict:
    db = str(runtime.engine.url)
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(DEMO_CONFIG),
            "--database",
            db,
            "report",
            "--json",
            "--as-of",
            NOW.isoformat(),
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_report_json_matches_the_schema_and_itself(demo_runtime) -> None:
    sync_teams(demo_runtime)
    data = report_json(demo_runtime, "--window", "30")

    jsonschema.validate(data, SCHEMA)
    assert data["window"]["days"] == 30 and len(data["daily"]) == 30
    metrics = data["metrics"]
    assert metrics["throughput_items"] == sum(d["throughput"] for d in data["daily"])
    assert metrics["wip"] == data["daily"][-1]["wip"] == len(data["metric_items"]["wip"])
    assert metrics["wip"] > metrics["wip_limit"] == 10
    assert metrics["cycle_time_seconds_p50"] <= metrics["cycle_time_seconds_p85"]
    detectors = {f["detector"] for f in data["findings"]}
    assert {"aging_item", "blocked_item", "pr_waiting_review", "wip_over_limit"} <= detectors
    in_progress = {i["key"] for i in data["items"] if i["finished_at"] is None}
    assert set(data["metric_items"]["wip"]) == in_progress


def test_an_empty_team_reports_nulls_not_zeros(demo_runtime) -> None:
    data = report_json(demo_runtime)  # nothing synced

    jsonschema.validate(data, SCHEMA)
    assert data["metrics"]["cycle_time_seconds_p85"] is None
    assert data["dora"]["change_failure_rate"] is None
    assert data["forecast"]["how_many"] is None
    assert data["findings"] == []
