"""``vsm report --json`` on the demo: valid against the documented schema, consistent inside."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner

from bot.cli import cli
from bot.sync import sync_teams
from insights.model import ItemHistory, ItemKind, LiveItems, Page, Stage, Transition, WorkItem
from storage.pages import save_page
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

SCHEMA = json.loads((Path(__file__).parent / "report_schema.json").read_text())


def report_json(runtime, *args: str, as_of: datetime = NOW) -> dict:
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
            as_of.isoformat(),
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


def status_then(item: WorkItem, transitions: list[Transition], then: datetime) -> str:
    """The item's status at ``then`` from its stored history."""
    before = [t for t in transitions if t.at <= then]
    if before:
        return before[-1].to_status
    return (transitions[0].from_status if transitions else None) or item.status


def test_a_report_as_of_the_past_shows_the_items_as_they_were_then(demo_runtime) -> None:
    sync_teams(demo_runtime)
    then = NOW - timedelta(days=20)
    data = report_json(demo_runtime, "--window", "14", as_of=then)

    jsonschema.validate(data, SCHEMA)
    team = demo_runtime.team(None)
    snapshot = load_snapshot(demo_runtime.engine, team.name, team.workflow)
    by_key = {item.key: item for item in snapshot.items}
    history = {item.key: list(snapshot.transitions.get(item.id, ())) for item in snapshot.items}
    wip = data["metric_items"]["wip"]
    assert any(by_key[key].stage.finished for key in wip)  # finished since: WIP back then
    for facts in data["items"]:
        item = by_key[facts["key"]]
        assert item.created_at <= then
        assert facts["status"] == status_then(item, history[item.key], then)
        assert facts["finished_at"] is None or datetime.fromisoformat(facts["finished_at"]) <= then
    assert data["metrics"]["wip"] == data["daily"][-1]["wip"] == len(wip)


def in_progress(key: str, since: datetime) -> ItemHistory:
    item = WorkItem(
        id=f"test:issue:{key}",
        team="payments",
        source="test",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Work on {key}",
        status="In Progress",
        stage=Stage.ACTIVE,
        created_at=since - timedelta(days=1),
        updated_at=since,
    )
    move = Transition(item.id, since, "Backlog", "In Progress", Stage.BACKLOG, Stage.ACTIVE)
    return ItemHistory(item, (move,))


def test_an_item_removed_since_is_in_the_report_as_of_before_its_removal(demo_runtime) -> None:
    started, removed = NOW - timedelta(days=20), NOW - timedelta(days=5)
    engine = demo_runtime.engine
    save_page(
        engine,
        "payments/test",
        Page([in_progress("T-1", started), in_progress("T-2", started)]),
        started,
    )
    live = LiveItems("payments", "test", ("test:issue:T-",), frozenset({"test:issue:T-1"}))
    save_page(engine, "payments/test", Page(live_items=live), removed)

    before = report_json(demo_runtime, as_of=removed - timedelta(seconds=1))
    after = report_json(demo_runtime, as_of=removed)

    assert before["metric_items"]["wip"] == ["T-1", "T-2"]
    assert (
        after["metric_items"]["wip"] == report_json(demo_runtime)["metric_items"]["wip"] == ["T-1"]
    )


def test_the_demo_report_is_pinned_byte_for_byte(demo_runtime) -> None:
    """A refactoring must not move a number: the demo's report as of NOW is kept verbatim.

    When a change is meant to alter the report, regenerate the file from ``vsm report --json
    --as-of NOW`` on the demo and say why in the commit.
    """
    sync_teams(demo_runtime)
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(DEMO_CONFIG),
            "--database",
            str(demo_runtime.engine.url),
            "report",
            "--json",
            "--as-of",
            NOW.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == (Path(__file__).parent / "fixtures/report/demo_report.json").read_text()


def test_the_value_stream_section_adds_up(demo_runtime) -> None:
    sync_teams(demo_runtime)
    data = report_json(demo_runtime, "--window", "30")

    stream = data["value_stream"]
    assert data["schema_version"] == 4
    assert (stream["start"], stream["end"]) == (data["window"]["start"], data["window"]["end"])
    assert stream["items"] == len(stream["item_keys"]) > 0
    assert stream["steps"][0]["from"] == "created" and stream["steps"][-1]["to"] == "done"
    for earlier, later in zip(stream["steps"], stream["steps"][1:], strict=False):
        assert earlier["to"] == later["from"]
    for step in stream["steps"]:
        assert step["items"] + step["missing"] + step["backwards"] == stream["items"]
        assert step["items"] == len(step["item_keys"])
        assert set(step["item_keys"]) <= set(stream["item_keys"])
    lead = sum(s["lead_seconds_total"] for s in stream["steps"])
    process = sum(s["process_seconds_total"] for s in stream["steps"])
    assert stream["activity_ratio"] == process / lead
    assert stream["hotspot"]["step"] in {s["name"] for s in stream["steps"]}


def test_the_report_maps_the_configured_value_stream(demo_runtime, tmp_path) -> None:
    sync_teams(demo_runtime)
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["teams"][0]["value_stream"] = [
        {"name": "Upstream", "from": "created", "to": "status: In Progress"},
        {"name": "Downstream", "from": "status: in progress", "to": "done"},
    ]
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(
        cli,
        ["--config", str(path), "--database", str(demo_runtime.engine.url), "report", "--json",
         "--as-of", NOW.isoformat()],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    steps = json.loads(result.output)["value_stream"]["steps"]
    assert [(s["name"], s["from"], s["to"], s["measure"]) for s in steps] == [
        ("Upstream", "created", "status:In Progress", "board"),
        ("Downstream", "status:In Progress", "done", "board"),
    ]
