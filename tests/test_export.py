"""The export contract: JSON Lines with stable record names and fields, ISO 8601 UTC times."""

from __future__ import annotations

import json
from datetime import date, datetime

from click.testing import CliRunner

from bot.cli import cli
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG

CONTRACT = {
    "item": {
        "record",
        "team",
        "id",
        "source",
        "key",
        "kind",
        "type",
        "title",
        "status",
        "stage",
        "created_at",
        "updated_at",
        "resolved_at",
        "assignee",
        "url",
        "removed_at",
    },
    "transition": {"record", "item_id", "at", "from_status", "to_status", "from_stage", "to_stage"},
    "flag": {"record", "item_id", "at", "flagged", "inferred"},
    "review": {"record", "item_id", "at", "state", "reviewer"},
    "deployment": {
        "record",
        "id",
        "source",
        "environment",
        "outcome",
        "started_at",
        "finished_at",
        "sha",
        "repo",
        "shipped_item_ids",
        "url",
        "production",
    },
    "pipeline_run": {
        "record",
        "id",
        "source",
        "name",
        "branch",
        "outcome",
        "created_at",
        "started_at",
        "finished_at",
        "url",
        "sha",
    },
    "incident": {
        "record",
        "id",
        "source",
        "title",
        "created_at",
        "acknowledged_at",
        "resolved_at",
        "urgency",
        "url",
        "deployment_id",
    },
    "plan": {"record", "source", "kind", "key", "name", "due_on", "done", "item_keys", "url"},
}
TIME_FIELDS = {
    "created_at",
    "updated_at",
    "resolved_at",
    "at",
    "started_at",
    "finished_at",
    "acknowledged_at",
    "removed_at",
}


def test_export_follows_the_contract(demo_runtime) -> None:
    sync_teams(demo_runtime)
    db = str(demo_runtime.engine.url)
    result = CliRunner().invoke(cli, ["--config", str(DEMO_CONFIG), "--database", db, "export"])
    assert result.exit_code == 0, result.output

    records = [json.loads(line) for line in result.output.splitlines()]
    kinds = {r["record"] for r in records}
    assert kinds == set(CONTRACT)
    for record in records:
        assert set(record) == CONTRACT[record["record"]], record
        for name in TIME_FIELDS & set(record):
            if record[name] is not None:
                assert record[name].endswith("Z"), (name, record[name])
                assert datetime.fromisoformat(record[name]).utcoffset().total_seconds() == 0

    items = {r["id"] for r in records if r["record"] == "item"}
    assert all(r["item_id"] in items for r in records if r["record"] == "transition")
    assert len(items) == len([r for r in records if r["record"] == "item"])
    plans = [r for r in records if r["record"] == "plan"]
    assert [(p["kind"], p["key"]) for p in plans] == [("release", "2.3")]
    assert date.fromisoformat(plans[0]["due_on"]) > date.fromisoformat(max(
        r["created_at"][:10] for r in records if r["record"] == "item"
    ))  # fmt: skip
