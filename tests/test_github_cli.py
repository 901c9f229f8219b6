"""``vsm sync`` end to end: app.yaml with a github source at the fake GitHub, into SQLite."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from bot.cli import cli
from insights.dora import dora_metrics
from insights.model import Outcome
from storage.db import make_engine
from storage.health import load_health
from storage.snapshots import load_snapshot
from tests.conftest import NOW
from tests.fake_github import FakeGitHub, load_fixture

TOKEN = "ghp-cli-secret-token"


def write_app_yaml(tmp_path, fake: FakeGitHub) -> tuple[str, str]:
    database = f"sqlite:///{tmp_path / 'vsm.db'}"
    config = tmp_path / "app.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            database: {database}
            teams:
              - name: payments
                projects: [PAY]
                sources:
                  - type: github
                    token: ${{GITHUB_TOKEN}}
                    api_url: {fake.url}
                    repos: [acme/api]
                    incident_label: incident
                    runs_days: 3650
                workflow:
                  To Do: backlog
                  In Progress: active
                  Done: done
            """
        )
    )
    return str(config), database


def test_vsm_sync_stores_prs_reviews_deployments_and_incidents(tmp_path) -> None:
    with FakeGitHub(token=TOKEN) as fake:
        fake.load("acme/api", load_fixture("github/acme_api.json"))
        config, database = write_app_yaml(tmp_path, fake)
        runner = CliRunner(env={"GITHUB_TOKEN": TOKEN})

        # The fixture's last events are on 2026-11-25: sync as of that afternoon, whatever today is.
        sync = ["--config", config, "sync"]
        first = runner.invoke(cli, sync, obj=lambda: NOW, terminal_width=200)
        fake.reset_log()
        second = runner.invoke(cli, sync, obj=lambda: NOW, terminal_width=200)

    assert first.exit_code == 0, first.output
    assert "ok" in first.output and "failed" not in first.output
    assert TOKEN not in first.output
    assert second.exit_code == 0, second.output
    assert fake.count(status=200) == 0  # a no-change sync is all 304s
    engine = make_engine(database)
    snapshot = load_snapshot(engine, "payments")
    prs = {pr.key: pr for pr in snapshot.pull_requests()}
    assert set(prs) == {f"acme/api#{n}" for n in range(101, 107)}
    assert prs["acme/api#101"].linked_keys == ("PAY-12", "PAY-7")
    assert [r.state.value for r in snapshot.reviews["github:pr:acme/api#101"]] == [
        "requested",
        "changes_requested",
        "commented",
        "approved",
    ]
    shipped = {d.id: d.shipped_item_ids for d in snapshot.deployments}
    assert shipped["github:deploy:acme/api/9004"] == (
        "github:pr:acme/api#101",
        "github:pr:acme/api#106",
    )
    assert {i.id for i in snapshot.incidents} == {
        "github:incident:acme/api#201",
        "github:incident:acme/api#204",
    }
    assert {r.id for r in snapshot.pipeline_runs if r.outcome is not Outcome.RUNNING} >= {
        "github:run:acme/api/501",
        "github:run:acme/api/502",
    }
    health = load_health(engine, "payments")
    assert health[0].last_error is None and health[0].records_seen == 0  # the last sync: none new
    # DORA over the fixture's November: two production successes, one shipping #101 and #106;
    # incident #201 opened 20 minutes after deployment 9004 finished and is attributed to it.
    start = datetime(2026, 10, 26, tzinfo=UTC)
    dora = dora_metrics(snapshot, start, start + timedelta(days=28), UTC)
    assert dora.deployment_count == 2
    assert dora.change_failure_rate == 0.5
    assert {p.pr_key for p in dora.lead_times} == {"acme/api#101", "acme/api#106"}
    engine.dispose()


def test_vsm_sync_reports_a_bad_token_and_exits_non_zero(tmp_path) -> None:
    with FakeGitHub(token=TOKEN) as fake:
        config, _ = write_app_yaml(tmp_path, fake)
        result = CliRunner(env={"GITHUB_TOKEN": "ghp-wrong"}).invoke(
            cli, ["--config", config, "sync"], terminal_width=200
        )

    assert result.exit_code == 1
    assert "HTTP 401" in result.output and "ghp-wrong" not in result.output
