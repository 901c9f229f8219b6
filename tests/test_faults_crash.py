"""A process killed with SIGKILL in the middle of a digest: retried when safe, never doubled.

A driver process runs the real digest job and kills itself (SIGKILL, no clean-up) at one of two
points: after claiming the send, while building the message (nothing reached Slack: the next run
posts it once the claim is stale), or just as the post goes out (it may have reached Slack: it is
never posted again, the admins are told to look).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.slack.deps import build_deps
from bot.slack.jobs import post_digest, report_interrupted
from bot.sync import sync_teams
from storage.bot_state import SendRecord, load_send, load_sends
from tests.bot_processes import channel_id, write_app_yaml
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN

ROOT = Path(__file__).resolve().parent.parent
TEAM = "team-000"
DRIVER = """
import os, signal, sys
from bot.config import load_config
from bot.runtime import open_runtime
from bot.slack import digests
from bot.slack.client import Poster
from bot.slack.deps import build_deps
from bot.slack.jobs import post_digest

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

config, stage = sys.argv[1], sys.argv[2]
if stage == "building":
    digests.build_digest_message = die
else:
    Poster.post = die
post_digest(build_deps(open_runtime(load_config(config))), "team-000", "C00000000", None, "daily")
print("not killed")
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def config(fake, tmp_path) -> Path:
    path = write_app_yaml(tmp_path / "app.yaml", fake, f"sqlite:///{tmp_path / 'vsm.db'}")
    runtime = open_runtime(load_config(path))
    sync_teams(runtime)
    runtime.engine.dispose()
    return path


def crash(config: Path, stage: str) -> None:
    """Run the digest job in a driver process that SIGKILLs itself at ``stage``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(config), stage],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr


def later(config: Path, minutes: int) -> Runtime:
    """A runtime whose clock reads ``minutes`` after the crashed claim."""
    runtime = open_runtime(load_config(config))
    (record,) = _sends(runtime)
    runtime.clock = lambda: record.claimed_at + timedelta(minutes=minutes)
    runtime.sleep = lambda seconds: None
    return runtime


def _sends(runtime: Runtime) -> list[SendRecord]:
    return load_sends(runtime.engine, ["digest_daily"])


def digest_posts(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if "needs attention" in c.params["text"]]


def test_a_crash_after_claiming_is_retried_once_the_claim_is_stale(config, fake) -> None:
    crash(config, "building")

    early = later(config, 5)
    (record,) = _sends(early)
    assert record.state == "claimed" and digest_posts(fake) == []
    outcome_while_fresh = post_digest(build_deps(early), TEAM, channel_id(0), None, "daily")
    stale = later(config, 11)
    deps = build_deps(stale)
    outcomes = [post_digest(deps, TEAM, channel_id(0), None, "daily") for _ in range(2)]

    assert outcome_while_fresh == "already sent", "a fresh claim may still be in progress"
    assert outcomes == ["sent", "already sent"]
    (post,) = digest_posts(fake)
    final = load_send(stale.engine, record.key)
    assert final is not None and (final.state, final.ts) == ("sent", post.reply["ts"])


def test_a_crash_while_posting_is_reported_and_never_posted_twice(config, fake) -> None:
    crash(config, "posting")

    runtime = later(config, 11)
    deps = build_deps(runtime)
    (record,) = _sends(runtime)
    assert record.state == "posting"
    reported = report_interrupted(deps)
    again = post_digest(deps, TEAM, channel_id(0), None, "daily")

    assert reported == [record.key]
    assert again == "already sent"
    assert digest_posts(fake) == []
    final = load_send(runtime.engine, record.key)
    assert final is not None and final.state == "unknown"
    (dm,) = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"].startswith("D")]
    assert dm.params["channel"] == "D" + ADMIN.removeprefix("U")
    assert "may not have been posted" in dm.params["text"]
    assert report_interrupted(deps) == [], "told once"
