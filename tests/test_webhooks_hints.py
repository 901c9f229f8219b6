"""Webhook hints: coalesced, spaced per vendor rate-limit group, parallel across groups, robust.

The sync and the alert sweep are replaced by recorders here (their own tests cover them; the end
to end test runs the real ones); the clock is fake and a wait advances it, so nothing sleeps.
"""

from __future__ import annotations

import logging
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.config import TeamConfig, load_config
from bot.runtime import open_runtime
from bot.slack.deps import SlackDeps, build_deps
from bot.sync import SyncResult, source_key
from bot.webhooks import hints as hints_module
from bot.webhooks.hints import Hints
from integrations.base import SourceConfig
from tests.conftest import NOW

WAIT = 10.0
"""Seconds a test waits for a worker thread's event before failing (never slept through)."""
CONFIG = """
    database: sqlite:///{database}
    teams:
      - name: payments
        projects: [PAY]
        sources:
          - {{type: github, name: api, token: t, api_url: "https://one.example", repos: [acme/api]}}
          - {{type: github, name: web, token: t, api_url: "https://one.example", repos: [acme/web]}}
          - {{type: github, name: ops, token: t, api_url: "https://two.example", repos: [acme/ops]}}
      - name: core
        projects: [CORE]
        sources:
          - {{type: github, name: api, token: t, api_url: "https://one.example", repos: [acme/api]}}
"""


class FakeClock:
    """A clock that only moves when someone waits."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += timedelta(seconds=seconds)


@dataclass
class Recorder:
    """Stands in for ``sync_source`` and ``alert_team``: records calls, can block or fail."""

    clock: FakeClock
    syncs: list[tuple[str, datetime]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    before_sync: Callable[[str], None] = lambda key: None
    fail_alerts: bool = False
    running: int = 0
    most_running: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    synced: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    alerted: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def sync(self, runtime: object, team: TeamConfig, config: SourceConfig) -> SyncResult:
        key = source_key(team, config)
        with self.lock:
            self.syncs.append((key, self.clock()))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            self.before_sync(key)
        finally:
            with self.lock:
                self.running -= 1
            self.synced.release()
        return SyncResult(team=team.name, source=config.display_name(), source_key=key)

    def alert(self, deps: SlackDeps, team: TeamConfig) -> list[object]:
        with self.lock:
            self.alerts.append(team.name)
        self.alerted.release()
        if self.fail_alerts:
            raise RuntimeError("slack is down")
        return []

    def wait_syncs(self, count: int) -> None:
        for _ in range(count):
            assert self.synced.acquire(timeout=WAIT), f"fewer than {count} syncs ran"

    def wait_alerts(self, count: int) -> None:
        for _ in range(count):
            assert self.alerted.acquire(timeout=WAIT), f"fewer than {count} alert sweeps ran"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def deps(tmp_path, clock: FakeClock) -> Iterator[SlackDeps]:
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text(textwrap.dedent(CONFIG.format(database=tmp_path / "vsm.db")))
    runtime = open_runtime(load_config(app_yaml, env={}), clock=clock)
    runtime.sleep = clock.sleep
    built = build_deps(runtime)
    yield built
    built.workers.shutdown(wait=True)
    runtime.engine.dispose()


@pytest.fixture
def recorder(monkeypatch, clock: FakeClock) -> Recorder:
    recorded = Recorder(clock)
    monkeypatch.setattr(hints_module, "sync_source", recorded.sync)
    monkeypatch.setattr(hints_module, "alert_team", recorded.alert)
    return recorded


@pytest.fixture
def running(deps: SlackDeps) -> Iterator[Callable[..., Hints]]:
    started: list[Hints] = []

    def start(**options: object) -> Hints:
        hints = Hints(deps, **options)  # type: ignore[arg-type]
        hints.start()
        started.append(hints)
        return hints

    yield start
    for hints in started:
        hints.stop()


def test_a_burst_during_a_run_gives_one_more_run(running, recorder: Recorder) -> None:
    first_started, release = threading.Event(), threading.Event()

    def hold_the_first(key: str) -> None:
        if not first_started.is_set():
            first_started.set()
            assert release.wait(WAIT)

    recorder.before_sync = hold_the_first
    hints = running(workers=4)

    hints.notify("ops", NOW)
    assert first_started.wait(WAIT)
    for _ in range(500):
        hints.notify("ops", NOW)
    release.set()
    recorder.wait_alerts(2)
    hints.stop()

    assert [key for key, _ in recorder.syncs] == ["payments/ops", "payments/ops"]
    assert recorder.alerts == ["payments", "payments"]
    assert hints.idle()


def test_runs_in_one_rate_limit_group_never_overlap_and_are_spaced(
    running, recorder: Recorder, clock: FakeClock
) -> None:
    first_started, release = threading.Event(), threading.Event()

    def hold_the_first(key: str) -> None:
        if not first_started.is_set():
            first_started.set()
            assert release.wait(WAIT)

    recorder.before_sync = hold_the_first
    hints = running(workers=4, min_interval=timedelta(seconds=2))

    hints.notify("api", NOW)  # payments/api and core/api, both on one.example
    assert first_started.wait(WAIT)
    hints.notify("web", NOW)  # payments/web, one.example too: waits for the run of api
    release.set()
    recorder.wait_alerts(3)
    hints.notify("api", NOW)
    recorder.wait_alerts(2)

    starts: dict[str, list[datetime]] = {}
    for key, at in recorder.syncs:
        starts.setdefault(key, []).append(at)
    assert recorder.most_running == 1
    assert starts == {
        "payments/api": [NOW, NOW + timedelta(seconds=4)],
        "core/api": [NOW, NOW + timedelta(seconds=4)],
        "payments/web": [NOW + timedelta(seconds=2)],
    }
    assert clock.waits == [2.0, 2.0]


def test_names_of_one_group_hinted_together_sync_in_one_run(
    running, recorder: Recorder, clock: FakeClock
) -> None:
    hints = running(workers=4)

    with hints.paused():
        hints.notify("web", NOW)
        hints.notify("api", NOW)
        hints.notify("web", NOW)
    recorder.wait_alerts(2)

    assert recorder.syncs == [
        ("payments/web", NOW),
        ("payments/api", NOW),
        ("core/api", NOW),
    ]
    assert recorder.alerts == ["payments", "core"]
    assert clock.waits == []


def test_different_groups_run_at_the_same_time(running, recorder: Recorder) -> None:
    both_running = threading.Barrier(2, timeout=WAIT)
    recorder.before_sync = lambda key: both_running.wait()  # fails unless both are in a sync
    hints = running(workers=2)

    hints.notify("ops", NOW)  # two.example
    hints.notify("web", NOW)  # one.example
    recorder.wait_alerts(2)

    assert recorder.most_running == 2
    assert sorted(key for key, _ in recorder.syncs) == ["payments/ops", "payments/web"]


def test_a_name_shared_by_teams_syncs_and_alerts_each_team(running, recorder: Recorder) -> None:
    hints = running()

    hints.notify("api", NOW)
    recorder.wait_alerts(2)

    assert [key for key, _ in recorder.syncs] == ["payments/api", "core/api"]
    assert recorder.alerts == ["payments", "core"]


def test_a_failing_sync_or_alert_is_logged_and_the_worker_goes_on(
    running, recorder: Recorder, caplog
) -> None:
    failures = iter([RuntimeError("vendor exploded")])

    def fail_once(key: str) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure

    recorder.before_sync = fail_once
    recorder.fail_alerts = True
    hints = running(workers=1)

    with caplog.at_level(logging.ERROR, logger=hints_module.__name__):
        hints.notify("ops", NOW)
        recorder.wait_syncs(1)
        hints.notify("ops", NOW)
        recorder.wait_alerts(1)
        hints.notify("ops", NOW)
        recorder.wait_alerts(1)
        hints.stop()

    assert len(recorder.syncs) == 3
    assert recorder.alerts == ["payments", "payments"]  # none after the failed sync
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("the hinted sync of payments/ops failed") == 1
    assert messages.count("the alerts of payments after a webhook hint failed") == 2


def test_an_unknown_name_is_ignored(running, recorder: Recorder, caplog) -> None:
    hints = running()

    with caplog.at_level(logging.INFO, logger=hints_module.__name__):
        hints.notify("jira", NOW)
    hints.notify("ops", NOW)
    recorder.wait_alerts(1)
    hints.stop()

    assert [key for key, _ in recorder.syncs] == ["payments/ops"]
    assert "no source of that name is configured" in caplog.text


def test_a_process_that_does_not_lead_leaves_hints_to_the_leader(
    running, recorder: Recorder
) -> None:
    asked = threading.Event()

    def follower() -> bool:
        asked.set()
        return False

    hints = running(leads=follower)

    hints.notify("ops", NOW)
    assert asked.wait(WAIT)
    hints.stop()

    assert recorder.syncs == [] and recorder.alerts == []
    assert hints.idle()


def test_no_hint_runs_while_paused(running, recorder: Recorder) -> None:
    hints = running()

    with hints.paused():
        hints.notify("ops", NOW)
        hints.stop()  # joins the workers: one that had taken the hint would have synced it
        assert recorder.syncs == []
        assert not hints.idle()
        hints.start()
    recorder.wait_alerts(1)

    assert [key for key, _ in recorder.syncs] == ["payments/ops"]
