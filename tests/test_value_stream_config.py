"""``value_stream:`` in app.yaml: steps from events, validated with field paths, in a chain."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config
from insights.model import Stage
from insights.value_stream import StreamStep

WORKFLOW = {"Backlog": "backlog", "In Progress": "active", "Code Review": "active", "Done": "done"}


def config_with(steps: list[dict[str, str]]) -> dict:
    team = {
        "name": "payments",
        "sources": [{"type": "demo", "seed": 3}],
        "workflow": WORKFLOW,
        "value_stream": steps,
    }
    return {"teams": [team]}


def problems(steps: list[dict[str, str]]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(config_with(steps), env={})
    return info.value.problems


STREAM = [
    {"name": "Backlog", "from": "created", "to": "committed"},
    {"name": "Build", "from": "committed", "to": "status: code review"},
    {"name": "Review", "from": "status:Code Review", "to": "Merged"},
    {"name": "Release", "from": "merged", "to": "deployed"},
]


def test_configured_steps_become_stream_steps_spelled_as_the_workflow() -> None:
    team = parse_config(config_with(STREAM), env={}).teams[0]

    assert team.stream_steps() == (
        StreamStep("Backlog", "created", "committed"),
        StreamStep("Build", "committed", "status:Code Review"),
        StreamStep("Review", "status:Code Review", "merged"),
        StreamStep("Release", "merged", "deployed"),
    )
    assert team.workflow_order() == [
        ("Backlog", Stage.BACKLOG),
        ("In Progress", Stage.ACTIVE),
        ("Code Review", Stage.ACTIVE),
        ("Done", Stage.DONE),
    ]


def test_no_value_stream_means_the_default() -> None:
    data = config_with([])
    del data["teams"][0]["value_stream"]

    assert parse_config(data, env={}).teams[0].stream_steps() == ()


def test_an_unknown_event_names_its_path_and_the_events() -> None:
    steps = [*STREAM[:2], {"name": "Review", "from": "status: Code Review", "to": "merge"}]

    (problem,) = problems(steps)
    assert problem.startswith("teams[0].value_stream[2].to: got 'merge'; unknown event; use one of")
    assert "pr_opened" in problem and "'status: <a workflow status>'" in problem


def test_a_status_must_be_in_the_workflow() -> None:
    steps = [{"name": "Build", "from": "status: Doing", "to": "done"}]

    assert problems(steps) == [
        "teams[0].value_stream[0].from: status 'Doing' is not in the team's workflow; use one of "
        "Backlog, In Progress, Code Review, Done"
    ]


def test_steps_must_chain_have_unique_names_and_end_elsewhere() -> None:
    steps = [
        {"name": "Backlog", "from": "created", "to": "committed"},
        {"name": "backlog", "from": "pr_opened", "to": "pr_opened"},
    ]

    assert problems(steps) == [
        "teams[0].value_stream[1].name: got 'backlog'; step names must be unique",
        "teams[0].value_stream[1].to: got 'pr_opened'; a step must end at another event than it "
        "starts",
        "teams[0].value_stream[1].from: got 'pr_opened'; a step starts where the previous one "
        "ended ('committed')",
    ]


def test_a_step_needs_a_name_and_both_ends() -> None:
    found = problems([{"name": "", "from": "created"}])

    assert "teams[0].value_stream[0].to: required field is missing" in found
    assert any(p.startswith("teams[0].value_stream[0].name: got ''") for p in found)
    assert problems([{"name": "x", "from": "created", "to": "done", "until": "x"}]) == [
        "teams[0].value_stream[0].until: unknown field; remove it or check its spelling"
    ]
