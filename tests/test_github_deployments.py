"""GitHub deployments: the vendor's environment is kept, and an unfinished one stays as it stands.

Which deployments are production is decided by the source (``production_environments``, or
GitHub's ``production_environment`` flag); the record keeps the environment GitHub names. A
deployment with no final status ``PENDING_TIMEOUT`` after its creation no longer holds the
high-water mark back, and is stored as GitHub shows it (running), never relabelled.
"""

from __future__ import annotations

import json
from datetime import timedelta

from insights.model import Outcome
from integrations._deliveries import PENDING_TIMEOUT
from tests.fake_github import FakeGitHub, commit
from tests.test_github import NOW, Harness, deployments

REPO = "acme/ship"
DEPLOY = "github:deploy:acme/ship/"


def iso(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ship_repo(fake: FakeGitHub) -> None:
    repo = fake.repo(REPO)
    repo.commits["a" * 40] = commit("a" * 40, [], "Start", iso(timedelta(days=9)))


def deployment(native: int, environment: str, created: str, production: bool = False) -> dict:
    return {
        "id": native,
        "sha": "a" * 40,
        "environment": environment,
        "production_environment": production,
        "created_at": created,
    }


def only_deployments(fake: FakeGitHub, **options) -> Harness:
    return Harness(fake, repos=[REPO], workflow_runs=False, incident_label=None, **options)


def test_the_vendor_environment_is_kept_for_every_production_deployment() -> None:
    with FakeGitHub() as fake:
        ship_repo(fake)
        repo = fake.repos[REPO]
        repo.deployments += [
            deployment(1, "prod", iso(timedelta(days=5))),  # by the default name pattern
            deployment(2, "eu-west", iso(timedelta(days=4)), production=True),  # GitHub's flag
            deployment(3, "staging", iso(timedelta(days=3))),
            deployment(4, "Live-US", iso(timedelta(days=2))),
        ]
        for n in (1, 2, 3, 4):
            repo.statuses[n] = [
                {"id": n, "state": "success", "created_at": iso(timedelta(days=5 - n, hours=-1))}
            ]

        found = deployments(
            only_deployments(fake, production_environments="(?i)^(prod|eu-.*)$").pull()
        )

    assert {d.id: d.environment for d in found.values()} == {
        DEPLOY + "1": "prod",
        DEPLOY + "2": "eu-west",
    }  # staging and Live-US do not match the configured pattern


def test_an_unfinished_deployment_past_the_timeout_is_stored_as_running_and_not_re_read() -> None:
    with FakeGitHub() as fake:
        ship_repo(fake)
        repo = fake.repos[REPO]
        stuck = PENDING_TIMEOUT + timedelta(hours=1)
        repo.deployments += [
            deployment(1, "production", iso(stuck)),
            deployment(2, "production", iso(timedelta(hours=1))),
        ]
        repo.statuses[1] = [{"id": 1, "state": "in_progress", "created_at": iso(stuck)}]
        repo.statuses[2] = [{"id": 2, "state": "queued", "created_at": iso(timedelta(hours=1))}]
        harness = only_deployments(fake)

        pages = harness.pull()

        found = deployments(pages)
        assert found[DEPLOY + "1"].outcome is Outcome.RUNNING  # as GitHub shows it
        assert found[DEPLOY + "2"].outcome is Outcome.RUNNING
        state = json.loads(pages[-1].cursor)["repos"][REPO]["deployments"]
        # The stuck one no longer holds the mark back; the recent one is still waited for.
        assert (state["last_id"], state["open"]) == (1, True)
        fake.reset_log()

        again = deployments(harness.pull(pages[-1].cursor))

    assert set(again) == {DEPLOY + "2"}
    assert fake.count(r"/deployments/1/statuses") == 0
