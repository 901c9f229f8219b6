"""A process killed with SIGKILL in the middle of a digest: posted once, never lost, never doubled.

A driver process runs the real digest job and is killed (SIGKILL, no clean-up) at one of three
points: after claiming the send, while building the message; just as the post goes out, before
Slack got it; or as Slack takes the post, before the answer comes back. Once the claim is stale
the next run takes it over: it posts the digest unless the channel already has it (found by the
key the post carries as metadata), so the digest is in the channel exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.runtime import Runtime, open_runtime
from bot.slack.delivering.jobs import post_digest
from bot.slack.deps import build_deps
from bot.sync import sync_teams
from storage.sends import SendRecord, load_send, load_sends
from tests.bot_processes import channel_id, write_app_yaml
from tests.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
TEAM = "team-000"
DRIVER = """
import os, signal, sys
from bot.config import load_config
from bot.runtime import open_runtime
from bot.slack.delivering import digests
from bot.slack.delivering.poster import Poster
from bot.slack.deps import build_deps
from bot.slack.delivering.jobs import post_digest

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

config, stage = sys.argv[1], sys.argv[2]
if stage == "building":
    digests.build_digest_message = die
elif stage == "posting":
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


def crash(
    config: Path, stage: str, plan: Callable[[Callable[[], None]], None] = lambda k: None
) -> None:
    """Run the digest job in a driver process that is SIGKILLed at ``stage``.

    ``plan(kill)`` may arrange for the fake Slack to call ``kill()`` (stage ``accepted``).
    """
    # Keep the caller's PYTHONPATH: the suite's clock-ahead run moves the driver's clock too.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(config), stage],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    plan(lambda: os.kill(driver.pid, signal.SIGKILL))
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == -signal.SIGKILL, output


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


def admin_dms(fake: FakeSlack) -> list:
    return [c for c in fake.calls_to("chat.postMessage") if c.params["channel"].startswith("D")]


def test_nothing_lost_when_killed_while_posting_before_slack_got_it(config, fake) -> None:
    crash(config, "posting")

    early = later(config, 5)
    (record,) = _sends(early)
    assert record.state == "posting" and fake.posted() == []
    while_fresh = post_digest(build_deps(early), TEAM, channel_id(0), None, "daily")
    stale = later(config, 11)
    deps = build_deps(stale)
    outcomes = [post_digest(deps, TEAM, channel_id(0), None, "daily") for _ in range(2)]

    assert while_fresh == "already sent", "a fresh post may still be on its way"
    assert outcomes == ["sent", "already sent"]
    (message,) = fake.posted(channel_id(0))
    final = load_send(stale.engine, record.key)
    assert final is not None and (final.state, final.ts) == ("sent", message["ts"])
    assert admin_dms(fake) == [], "nobody is asked to look: the bot looked"


def test_nothing_posted_twice_when_killed_after_slack_took_the_post(config, fake) -> None:
    def kill_as_slack_takes_it(kill: Callable[[], None]) -> None:
        fake.interrupt_next("chat.postMessage", hook=lambda call: kill())

    crash(config, "accepted", kill_as_slack_takes_it)

    runtime = later(config, 11)
    (record,) = _sends(runtime)
    (message,) = fake.posted(channel_id(0))
    assert record.state == "posting"
    again = post_digest(build_deps(runtime), TEAM, channel_id(0), None, "daily")

    assert again == "sent"
    assert fake.posted(channel_id(0)) == [message], "found in the channel, not posted again"
    final = load_send(runtime.engine, record.key)
    assert final is not None and (final.state, final.ts) == ("sent", message["ts"])
    assert admin_dms(fake) == []
