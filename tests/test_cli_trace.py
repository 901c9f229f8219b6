"""``vsm trace KEY`` on the demo: the journey in the terminal and as JSON; unknown keys named."""

from __future__ import annotations

import json

import pytest

from storage.snapshots import load_snapshot
from tests.conftest import NOW, demo_cli


def run(runtime, *args: str):
    return demo_cli(runtime, "trace", *args)


@pytest.fixture
def demo(synced_demo):
    return synced_demo


def shipped_key(runtime) -> tuple[str, str]:
    """A demo issue with a linked pull request that merged, and that pull request's key."""
    team = runtime.config.teams[0]
    snapshot = load_snapshot(runtime.engine, team.name, tuple(team.workflow))
    issues = {i.key for i in snapshot.issues() if i.stage == "done"}
    pr = next(p for p in snapshot.pull_requests() if p.merged_at and p.linked_keys[0] in issues)
    return pr.linked_keys[0], pr.key


def test_the_journey_prints_steps_and_events(demo) -> None:
    key, pr = shipped_key(demo)
    result = run(demo, key.lower())

    assert result.exit_code == 0, result.output
    assert result.output.startswith(key)
    for heading in ("Steps", "Journey", "Created", "Done", f"{pr} opened by", "merged"):
        assert heading in result.output
    assert "Backlog" in result.output  # the team's first step


def test_json_lists_the_steps_and_the_events_in_order(demo) -> None:
    key, pr = shipped_key(demo)
    result = run(demo, pr, "--json")

    assert result.exit_code == 0, result.output
    trace = json.loads(result.output)
    assert trace["key"] == key and trace["team"] == "payments"
    assert trace["as_of"] == NOW.isoformat()
    instants = [e["at"] for e in trace["events"]]
    assert instants == sorted(instants) and trace["events"][0]["event"] == "created"
    assert trace["events"][-1]["event"] == "done"
    for step in trace["steps"]:
        assert step["lead_seconds"] == step["process_seconds"] + step["wait_seconds"]
        assert step["waiting"] == (step["wait_seconds"] > step["process_seconds"])
    names = [s["name"] for s in trace["steps"]] + [m["name"] for m in trace["missing_steps"]]
    assert names[0] == "Backlog" and len(names) == len(set(names))


def test_as_of_traces_the_past(demo) -> None:
    key, _ = shipped_key(demo)
    created = json.loads(run(demo, key, "--json").output)["events"][0]["at"]
    past = json.loads(run(demo, key, "--json", "--as-of", created).output)

    assert [e["event"] for e in past["events"]] == ["created"]  # nothing after the instant
    assert past["as_of"] == created and past["status"] != "Done"


def test_an_unknown_key_exits_2_naming_the_key_and_the_team(demo) -> None:
    result = run(demo, "PAY-99999")

    assert result.exit_code == 2
    assert "team payments has no item 'PAY-99999'" in result.output
