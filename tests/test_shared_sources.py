"""Two teams on one source (issue 12): a sync of one team never removes another team's view.

A platform team and a product team on one Jira project, or two teams importing one CSV file: each
keeps every item, with the stages its own workflow gives, whatever the other team syncs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_jira import WORKFLOW, FakeJira, credentials
from sqlalchemy import Engine

from bot.config import parse_config
from bot.runtime import Runtime
from bot.sync import sync_teams
from insights.model import Stage
from storage.snapshots import load_snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENV_NAMES = {"email": "JIRA_EMAIL", "api_token": "JIRA_API_TOKEN", "token": "JIRA_PAT"}
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
BETA_WORKFLOW = {**WORKFLOW, "Code Review": "waiting"}
"""Beta waits on code review where alpha counts it as work."""


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    with FakeJira("cloud", cloud_page_cap=4) as server:
        server.load_scenario()
        yield server


def runtime_for(engine: Engine, teams: list[dict], env: dict[str, str], now: datetime) -> Runtime:
    runtime = Runtime(
        config=parse_config({"teams": teams}, env=env), engine=engine, clock=lambda: now
    )
    runtime.sleep = lambda seconds: None
    return runtime


def jira_teams(fake: FakeJira) -> tuple[list[dict], dict[str, str]]:
    section = {"type": "jira", "url": fake.base_url, "project": "PAY"}
    section.update({k: f"${{{ENV_NAMES[k]}}}" for k in credentials(fake.deployment)})
    teams = [
        {"name": "alpha", "sources": [section], "workflow": WORKFLOW},
        {"name": "beta", "sources": [section], "workflow": BETA_WORKFLOW},
    ]
    env = {ENV_NAMES[k]: v for k, v in credentials(fake.deployment).items()}
    return teams, env


def stages(engine: Engine, team: str) -> dict[str, Stage]:
    return {i.key: i.stage for i in load_snapshot(engine, team).items}


def test_syncing_beta_keeps_every_item_of_alpha_on_a_shared_jira_project(
    engine: Engine, fake: FakeJira
) -> None:
    teams, env = jira_teams(fake)
    runtime = runtime_for(engine, teams, env, fake.now)
    [alpha_sync] = sync_teams(runtime, "alpha")
    alpha = load_snapshot(engine, "alpha")
    assert alpha_sync.error is None and len(alpha.items) > 5

    [beta_sync] = sync_teams(runtime, "beta")

    assert beta_sync.error is None
    after = load_snapshot(engine, "alpha")
    assert after.items == alpha.items
    assert after.transitions == alpha.transitions
    assert after.flags == alpha.flags
    beta = load_snapshot(engine, "beta")
    assert [i.key for i in beta.items] == [i.key for i in alpha.items]
    assert {i.team for i in beta.items} == {"beta"}


def test_a_status_mapped_differently_per_team_keeps_each_teams_stage(
    engine: Engine, fake: FakeJira
) -> None:
    teams, env = jira_teams(fake)
    runtime = runtime_for(engine, teams, env, fake.now)

    sync_teams(runtime, "alpha")
    sync_teams(runtime, "beta")
    sync_teams(runtime, "alpha")

    alpha, beta = load_snapshot(engine, "alpha"), load_snapshot(engine, "beta")
    reviewing = {i.key for i in alpha.items if i.status == "Code Review"}
    assert reviewing
    assert {stages(engine, "alpha")[k] for k in reviewing} == {Stage.ACTIVE}
    assert {stages(engine, "beta")[k] for k in reviewing} == {Stage.WAITING}
    review_moves = {
        team: {
            t.to_stage
            for moves in snapshot.transitions.values()
            for t in moves
            if t.to_status == "Code Review"
        }
        for team, snapshot in (("alpha", alpha), ("beta", beta))
    }
    assert review_moves == {"alpha": {Stage.ACTIVE}, "beta": {Stage.WAITING}}


def test_two_teams_importing_one_csv_file_both_keep_it(engine: Engine) -> None:
    section = {"type": "csv", "path": str(FIXTURES / "csv" / "jira_export.csv")}
    workflow = {"Backlog": "backlog", "In Progress": "active", "Done": "done"}
    teams = [
        {"name": "alpha", "sources": [section], "workflow": workflow},
        {"name": "beta", "sources": [section], "workflow": {**workflow, "In Progress": "waiting"}},
    ]
    runtime = runtime_for(engine, teams, {}, NOW)

    results = sync_teams(runtime)

    assert [r.error for r in results] == [None, None]
    alpha, beta = load_snapshot(engine, "alpha"), load_snapshot(engine, "beta")
    assert len(alpha.items) == 5 and [i.key for i in alpha.items] == [i.key for i in beta.items]
    doing = {i.key for i in alpha.items if i.status == "In Progress"}
    assert doing
    assert {stages(engine, "alpha")[k] for k in doing} == {Stage.ACTIVE}
    assert {stages(engine, "beta")[k] for k in doing} == {Stage.WAITING}
