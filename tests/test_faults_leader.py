"""The fault suite in ``make test``: one trial of each fault against real processes (PostgreSQL).

The leader is killed as its post reaches Slack (before or after Slack takes it), frozen with
SIGSTOP while posting, or has its connection dropped after Slack took the post; every digest
ends up in its channel exactly once (:mod:`tests.fault_scenarios`; ``benchmarks/faults.py``
runs 20 trials of each). ``VSM_FAULT_TRIALS`` runs more here.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import POSTGRES_URL
from tests.fault_scenarios import LEASE_SECONDS, Tally, run_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TRIALS = int(os.environ.get("VSM_FAULT_TRIALS", "1"))
TEAMS = 5


def trials(scenario: str, tmp_path) -> Tally:
    if not POSTGRES_URL:
        pytest.skip("VSM_TEST_POSTGRES_URL is not set")
    tally = run_scenario(scenario, POSTGRES_URL, tmp_path, TRIALS, TEAMS)
    print(tally.line(scenario))
    return tally


@pytest.mark.parametrize("scenario", ["kill-before", "kill-after"])
def test_nothing_lost_when_the_leader_is_killed_while_posting(scenario, tmp_path) -> None:
    tally = trials(scenario, tmp_path)

    assert (tally.lost, tally.duplicated, tally.skipped) == (0, 0, 0), tally
    assert tally.posted == tally.expected == TRIALS * TEAMS
    assert tally.wrong_ts == 0, "each digest's record names its message"


def test_nothing_lost_nor_doubled_when_the_leader_freezes_while_posting(tmp_path) -> None:
    tally = trials("freeze", tmp_path)

    assert (tally.lost, tally.duplicated, tally.wrong_ts) == (0, 0, 0), tally
    assert tally.posted == tally.expected == TRIALS * TEAMS
    assert tally.slowest_failover < LEASE_SECONDS + 10, "a standby leads soon after the lease"


def test_nothing_posted_twice_when_the_connection_drops_after_slack_took_it(tmp_path) -> None:
    tally = trials("drop", tmp_path)

    assert (tally.lost, tally.duplicated, tally.wrong_ts) == (0, 0, 0), tally
    assert tally.posted == tally.expected == TRIALS * TEAMS
