"""The sync runner: idempotent re-syncs, and resume after a failure mid-sync."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.runtime import open_runtime
from bot.sync import SyncResult, make_context, pull_into, source_key, sync_teams
from insights.model import ItemHistory, ItemKind, Page, Stage, WorkItem
from integrations.base import SourceError
from integrations.registry import build_source
from storage.health import load_health
from storage.pages import load_cursor
from storage.snapshots import load_snapshot, table_counts

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "bot" / "demo.yaml"


@pytest.fixture
def runtime(demo_runtime):
    return demo_runtime


class Crash(RuntimeError):
    """Raised by the flaky source to simulate a crash mid-sync."""


class FlakySource:
    """Wraps a source and raises after yielding ``fail_after`` pages."""

    kind = "flaky"

    def __init__(self, inner, fail_after: int) -> None:
        self.inner = inner
        self.fail_after = fail_after

    def pull(self, cursor: str | None) -> Iterator[Page]:
        for index, page in enumerate(self.inner.pull(cursor)):
            if index == self.fail_after:
                raise Crash("connection lost")
            yield page

    def dry_run(self) -> dict[str, int]:
        return self.inner.dry_run()


def demo_source(runtime):
    team = runtime.config.teams[0]
    config = team.source_configs()[0]
    return team, config, build_source(config, make_context(team, runtime.clock, runtime.sleep))


def test_second_sync_changes_nothing(runtime) -> None:
    first = sync_teams(runtime)
    counts = table_counts(runtime.engine)
    second = sync_teams(runtime)

    assert first[0].error is None and first[0].counts.new > 300
    assert second[0].counts.new == second[0].counts.updated == 0
    assert table_counts(runtime.engine) == counts


def test_resume_after_a_crash_loses_and_duplicates_nothing(runtime, tmp_path) -> None:
    team, config, source = demo_source(runtime)
    key = source_key(team, config)
    result = SyncResult(team.name, config.display_name(), key)

    with pytest.raises(Crash):
        pull_into(runtime.engine, key, FlakySource(source, fail_after=2), runtime.clock, result)

    assert result.pages == 2
    cursor_after_crash = load_cursor(runtime.engine, key)
    stored_after_crash = table_counts(runtime.engine)["items"]
    assert cursor_after_crash is not None
    assert 0 < stored_after_crash < source.dry_run()["items"] + 100

    sync_teams(runtime)  # the restart resumes from the saved cursor

    clean = open_runtime(
        runtime.config, database=f"sqlite:///{tmp_path / 'clean.db'}", clock=runtime.clock
    )
    sync_teams(clean)
    assert table_counts(runtime.engine) == table_counts(clean.engine)
    assert load_snapshot(runtime.engine, team.name) == load_snapshot(clean.engine, team.name)


def test_the_cursor_never_passes_what_is_stored(runtime) -> None:
    team, config, source = demo_source(runtime)
    key = source_key(team, config)
    pages = list(source.pull(None))
    result = SyncResult(team.name, config.display_name(), key)

    with pytest.raises(Crash):
        pull_into(runtime.engine, key, FlakySource(source, fail_after=1), runtime.clock, result)

    assert load_cursor(runtime.engine, key) == pages[0].cursor
    stored = {i.id for i in load_snapshot(runtime.engine, team.name).items}
    assert stored == {h.item.id for h in pages[0].histories}


def test_a_failing_source_is_recorded_in_its_health(runtime, monkeypatch) -> None:
    import bot.sync

    def broken(config, ctx):
        raise bot.sync.SourceError("demo: gave up after 5 retries (HTTP 503)")

    monkeypatch.setattr(bot.sync, "build_source", broken)
    (result,) = sync_teams(runtime)

    assert result.error == "demo: gave up after 5 retries (HTTP 503)"
    (health,) = load_health(runtime.engine)
    assert health.consecutive_failures == 1
    assert health.last_error == result.error
    assert health.last_success_at is None


@pytest.mark.parametrize("error", [SourceError, ConnectionError])
def test_a_failing_source_never_stores_or_logs_a_configured_secret(
    demo_runtime, monkeypatch, caplog, error: type[Exception]
) -> None:
    import bot.sync
    from bot.config import parse_config

    secret = f"sync-only-s3cret-{error.__name__}"  # registered by nothing but this sync
    demo_runtime.config = parse_config(
        {
            "slack": {"signing_secret": "${SECRET}"},
            "teams": [{"name": "payments", "sources": [{"type": "demo"}]}],
        },
        env={"SECRET": secret},
    )

    def echoing(config, ctx):
        raise error(f"demo: the vendor answered 'bad key {secret}'")

    monkeypatch.setattr(bot.sync, "build_source", echoing)
    caplog.set_level(logging.DEBUG)
    (result,) = sync_teams(demo_runtime)

    (health,) = load_health(demo_runtime.engine)
    assert result.error is not None and "the vendor answered 'bad key [redacted]'" in result.error
    assert health.last_error == result.error
    assert secret not in caplog.text and "the vendor answered" in caplog.text


def test_cli_sync_twice_gives_identical_row_counts(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    args = ["--config", str(DEMO_CONFIG), "--database", db, "sync"]

    first = runner.invoke(cli, args)
    from storage.db import make_engine

    engine = make_engine(db)
    counts = table_counts(engine)
    second = runner.invoke(cli, args)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "Sync summary" in first.output
    assert table_counts(engine) == counts
    assert counts["items"] > 300


def test_sources_sync_concurrently_but_never_two_against_one_vendor_host(
    demo_runtime, monkeypatch
) -> None:
    import threading

    import bot.sync
    from bot.config import parse_config

    config = parse_config(
        {
            "teams": [
                {
                    "name": "a",
                    "sources": [{"type": "demo", "name": "one"}, {"type": "demo", "name": "two"}],
                },
                {
                    "name": "b",
                    "sources": [
                        {
                            "type": "github",
                            "token": "t",
                            "repos": ["acme/api"],
                            "api_url": "http://127.0.0.1:1",
                        }
                    ],
                },
            ]
        },
        env={},
    )
    demo_runtime.config = config
    github_started = threading.Event()
    log: list[str] = []
    lock = threading.Lock()

    def fake_sync_source(runtime, team, source_config, on_page=None):
        name = source_config.display_name()
        with lock:
            log.append(f"start {name}")
        if name == "one":
            # Only a concurrent worker can let this go on: the github group runs meanwhile.
            assert github_started.wait(timeout=10)
        if name == "github":
            github_started.set()
        with lock:
            log.append(f"end {name}")
        return SyncResult(team.name, name, f"{team.name}/{name}")

    monkeypatch.setattr(bot.sync, "sync_source", fake_sync_source)
    results = sync_teams(demo_runtime, workers=4)

    assert [r.source for r in results] == ["one", "two", "github"]  # configuration order
    assert log.index("end one") < log.index("start two")  # same vendor host: one at a time
    assert log.index("start github") < log.index("end one")  # other hosts: concurrently


def test_two_demo_teams_in_one_database_keep_their_own_items(demo_runtime) -> None:
    from bot.config import parse_config

    demo_runtime.config = parse_config(
        {
            "teams": [
                {"name": "payments", "sources": [{"type": "demo", "items": 40}]},
                {"name": "checkout", "sources": [{"type": "demo", "items": 30, "seed": 3}]},
            ]
        },
        env={},
    )
    results = sync_teams(demo_runtime)

    assert [r.error for r in results] == [None, None]
    payments = load_snapshot(demo_runtime.engine, "payments")
    checkout = load_snapshot(demo_runtime.engine, "checkout")
    assert len(payments.issues()) == 40 and len(checkout.issues()) == 30
    assert not {i.id for i in payments.items} & {i.id for i in checkout.items}


class _NulSource:
    """A source whose one item's title carries a NUL byte, as real Jira data sometimes does."""

    kind = "test"

    def __init__(self, item) -> None:
        self.item = item

    def pull(self, cursor: str | None) -> Iterator[Page]:
        yield Page(histories=[ItemHistory(self.item)], cursor="done")


def test_a_nul_byte_in_vendor_text_is_removed_counted_and_the_item_stored(engine) -> None:
    created = datetime(2026, 11, 2, 9, tzinfo=UTC)
    item = WorkItem(
        id="test:issue:PAY-1",
        team="payments",
        source="test",
        key="PAY-1",
        kind=ItemKind.ISSUE,
        type="Story",
        title="Refund\x00s",
        status="To Do",
        stage=Stage.BACKLOG,
        created_at=created,
        updated_at=created,
    )
    result = SyncResult(team="payments", source="test", source_key="payments/test")

    pull_into(engine, "payments/test", _NulSource(item), lambda: created, result)

    assert (result.cleaned, result.skipped) == (1, 0)
    [stored] = load_snapshot(engine, "payments").items
    assert stored.title == "Refunds"
    assert load_cursor(engine, "payments/test") == "done"
