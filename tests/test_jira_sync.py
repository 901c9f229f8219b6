"""``vsm sync`` end to end against the fake Jira: the database it produces, and resuming a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fake_jira import FIXTURES, WORKFLOW, FakeJira, credentials

from bot.cli import cli
from storage.db import make_engine
from storage.pages import load_cursor
from storage.snapshots import load_snapshot, table_counts

SCENARIO = json.loads((FIXTURES / "scenario.json").read_text())
VSM = Path(sys.executable).parent / "vsm"
ENV_NAMES = {"email": "JIRA_EMAIL", "api_token": "JIRA_API_TOKEN", "token": "JIRA_PAT"}


def write_config(folder: Path, fake: FakeJira, project: str = "PAY", name: str = "app") -> Path:
    section = {"type": "jira", "url": fake.base_url, "project": project}
    section.update({k: f"${{{ENV_NAMES[k]}}}" for k in credentials(fake.deployment)})
    config = {
        "database": f"sqlite:///{folder / f'{name}.db'}",
        "teams": [{"name": "payments", "sources": [section], "workflow": WORKFLOW}],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def secrets(fake: FakeJira) -> dict[str, str]:
    return {ENV_NAMES[k]: v for k, v in credentials(fake.deployment).items()}


def vsm(fake: FakeJira, config: Path, *args: str):
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=secrets(fake))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def wait_for_cursor(engine, deadline: float = 60.0) -> None:
    """Poll until the syncing process has stored a page (it runs in another process)."""
    give_up = time.monotonic() + deadline
    while load_cursor(engine, "payments/jira") is None:
        if time.monotonic() > give_up:
            raise AssertionError("the sync stored nothing in time")
        time.sleep(0.01)


def updated_searches(fake: FakeJira) -> int:
    """Search requests for issues in full (a resumed sync also lists the live keys once)."""
    return sum("search" in r.path and r.body.get("fields") != ["key"] for r in fake.requests)


def engine_of(config: Path):
    return make_engine(f"sqlite:///{config.with_suffix('.db')}")


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest):
    with FakeJira(request.param, cloud_page_cap=4, dc_page_cap=5, dc_inline_histories=8) as server:
        server.load_scenario()
        yield server


def test_vsm_sync_stores_the_issues_their_transitions_and_flags(
    fake: FakeJira, tmp_path: Path
) -> None:
    config = write_config(tmp_path, fake)
    result = vsm(fake, config, "sync")
    assert result.exit_code == 0, result.output
    assert "In Design, Triage" in " ".join(result.output.split())  # reported as unmapped
    engine = engine_of(config)
    snapshot = load_snapshot(engine, "payments")
    stored = {i.key: i for i in snapshot.items}
    expected_keys = {i["key"] for i in SCENARIO["issues"]} - {"PAY-6"}
    assert set(stored) == expected_keys
    for raw in SCENARIO["issues"]:
        if raw["key"] not in expected_keys:
            continue
        item = stored[raw["key"]]
        assert (item.title, item.type, item.priority) == (
            raw["summary"],
            raw["type"],
            raw.get("priority"),
        )
        assert item.assignee == next(
            (e[2] for e in reversed(raw["events"]) if e[1] == "assignee"), raw.get("assignee")
        )
        assert item.created_at.isoformat().replace("+00:00", "Z") == raw["created"]
        assert item.labels == tuple(raw.get("labels", ()))
        assert item.story_points == raw.get("story_points")
        assert item.blocked_by == tuple(raw.get("blocked_by", ()))
        broken = {int(i) for i in raw.get("broken_changes", {})}
        statuses = [e for e in raw["events"] if e[1] == "status"]
        kept = [e for i, e in enumerate(raw["events"]) if e[1] == "status" and i not in broken]
        assert item.status == (statuses[-1][2] if statuses else "Backlog")
        moves = snapshot.transitions.get(item.id, [])
        assert [(t.at.isoformat().replace("+00:00", "Z"), t.to_status) for t in moves] == [
            (e[0], e[2]) for e in kept
        ]
        flags = snapshot.flags.get(item.id, [])
        expected_flags = [(e[0], e[2]) for e in raw["events"] if e[1] == "flag"]
        if raw.get("flagged") and not expected_flags:
            expected_flags = [(raw["created"], True)]
        assert [(f.at.isoformat().replace("+00:00", "Z"), f.flagged) for f in flags] == (
            expected_flags
        )
    counts = table_counts(engine)
    assert counts["items"] == len(expected_keys)
    assert counts["transitions"] == sum(len(v) for v in snapshot.transitions.values())
    assert counts["cursors"] == 1


def test_a_second_sync_with_nothing_new_costs_four_requests(fake: FakeJira, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake)
    vsm(fake, config, "sync")
    before = table_counts(engine_of(config))
    fake.requests.clear()
    result = vsm(fake, config, "sync")
    assert result.exit_code == 0, result.output
    assert fake.count() == 4  # serverInfo, field, the search, the project's versions
    assert table_counts(engine_of(config)) == before


def test_check_config_counts_the_issues_without_storing(fake: FakeJira, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake)
    result = vsm(fake, config, "check-config")
    assert result.exit_code == 0, result.output
    assert f"{len(fake.issues)} issues" in result.output
    assert not config.with_suffix(".db").exists()


def test_a_failed_sync_reports_the_source_and_exits_1(fake: FakeJira, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake)
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "sync"],
        env={name: "bad-s3cret-value" for name in secrets(fake)},
    )
    assert result.exit_code == 1
    assert "payments/jira" in result.output and "HTTP 401" in result.output
    assert "bad-s3cret-value" not in result.output
    assert load_cursor(engine_of(config), "payments/jira") is None


@pytest.mark.parametrize(
    ("deployment", "kill_at", "stored_before_kill"),
    [
        ("cloud", ("/changelog/bulkfetch", 2), 1000),  # batch 1 stored, batch 2 held
        ("datacenter", ("/rest/api/2/search", 4), 598),  # pages 1-3 (200 + 199 + 199) stored
    ],
)
def test_a_sync_killed_mid_way_resumes_to_the_same_database(
    tmp_path: Path, deployment: str, kill_at: tuple[str, int], stored_before_kill: int
) -> None:
    with FakeJira(deployment, cloud_page_cap=100, dc_page_cap=200) as fake:
        fake.generate(1500, 4, project="PAY", flag_every=7)
        killed = write_config(tmp_path, fake, name="killed")
        process: dict[str, subprocess.Popen] = {}
        hits: list[str] = []

        def kill_mid_sync(server: FakeJira, request) -> None:
            path, nth = kill_at
            if path in request.path:
                hits.append(request.path)
                if len(hits) == nth:  # this request blocks until the first pages are stored
                    wait_for_cursor(engine_of(killed))
                    os.kill(process["vsm"].pid, signal.SIGKILL)

        fake.on_request = kill_mid_sync
        env = {**os.environ, **secrets(fake)}
        process["vsm"] = subprocess.Popen(
            [str(VSM), "--config", str(killed), "sync"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        process["vsm"].communicate(timeout=120)
        assert process["vsm"].returncode == -signal.SIGKILL
        engine = engine_of(killed)
        assert table_counts(engine)["items"] == stored_before_kill
        assert load_cursor(engine, "payments/jira") is not None

        fake.on_request = None
        fake.requests.clear()
        rerun = subprocess.run(
            [str(VSM), "--config", str(killed), "sync"], env=env, capture_output=True, timeout=120
        )
        assert rerun.returncode == 0, rerun.stdout.decode() + rerun.stderr.decode()
        resumed_searches = updated_searches(fake)

        fake.requests.clear()
        clean = write_config(tmp_path, fake, name="clean")
        assert vsm(fake, clean, "sync").exit_code == 0
        full_searches = updated_searches(fake)

    assert resumed_searches < full_searches  # it went on from the cursor, not from scratch
    after_kill, after_clean = (
        load_snapshot(engine, "payments"),
        load_snapshot(engine_of(clean), "payments"),
    )
    assert len(after_clean.items) == 1500 and after_clean.flags
    assert after_kill.items == after_clean.items
    assert after_kill.transitions == after_clean.transitions
    assert after_kill.flags == after_clean.flags
    assert table_counts(engine) == table_counts(engine_of(clean))
