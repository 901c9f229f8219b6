"""The fake Slack and a bot wired to it, as pytest fixtures for every Slack test module.

Registered in ``tests/conftest.py``; a module that needs another setup (a second channel, OAuth,
a fake Jira called ``fake``) defines its own fixture of the same name, which takes precedence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_slack import FakeSlack
from tests.slack_harness import TEAM_CHANNEL, BotHarness, demo_config, demo_runtime


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API with the demo team's channel."""
    with FakeSlack() as slack:
        slack.add_channel(TEAM_CHANNEL, "payments-flow")
        yield slack


@pytest.fixture
def harness(fake: FakeSlack, tmp_path) -> Iterator[BotHarness]:
    """The demo bot (HTTP mode, fixed clock) talking to ``fake``."""
    bot = BotHarness(fake, demo_runtime(demo_config(fake), tmp_path))
    yield bot
    bot.close()
