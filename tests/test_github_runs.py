"""Workflow runs and their re-runs: a run stored as failed takes the outcome of its re-run.

GitHub lists each run once, newest created first, with its latest attempt (``run_attempt``,
``run_started_at``: "the start time of the latest run. Resets on re-run."). A re-run keeps the
run's ``created_at`` and place in the list and may come days later (up to 30 days after the run),
so a sync re-reads the runs of that window, each page conditional on its stored ETag.
"""

from __future__ import annotations

from datetime import timedelta

from insights.model import Outcome
from tests.fake_github import FakeGitHub, commit, load_fixture, pr_node
from tests.test_github import NOW, Harness, deployments, runs, t

RUN = "github:run:acme/api/"


def rerun(run: dict, conclusion: str, started: str, finished: str) -> None:
    """Re-run ``run`` (in place) as GitHub shows it once its new attempt has finished."""
    run.update(
        run_attempt=run["run_attempt"] + 1,
        status="completed",
        conclusion=conclusion,
        run_started_at=started,
        updated_at=finished,
    )


def ci_run(native: int, created: str, conclusion: str = "success") -> dict:
    return {
        "id": native,
        "name": "CI",
        "path": ".github/workflows/ci.yml",
        "head_branch": "main",
        "head_sha": "a" * 40,
        "event": "push",
        "status": "completed",
        "conclusion": conclusion,
        "run_attempt": 1,
        "created_at": created,
        "run_started_at": created,
        "updated_at": created,
        "html_url": f"https://github.com/acme/api/actions/runs/{native}",
    }


def fixture_fake() -> FakeGitHub:
    fake = FakeGitHub()
    fake.load("acme/api", load_fixture("github/acme_api.json"))
    return fake


def test_a_failed_run_re_run_days_later_is_stored_with_its_new_outcome() -> None:
    with fixture_fake() as fake:
        harness = Harness(fake, incident_label=None)
        cursor = harness.pull()[-1].cursor
        failed = next(r for r in fake.repos["acme/api"].runs if r["id"] == 502)
        rerun(failed, "success", "2026-11-25T10:00:00Z", "2026-11-25T10:07:00Z")

        found = runs(harness.pull(cursor))

    again = found[RUN + "502"]
    assert again.outcome is Outcome.SUCCESS
    assert again.created_at == t("2026-11-03T11:01:00Z")  # queued: GitHub keeps it on re-run
    assert again.started_at == t("2026-11-25T10:00:00Z")  # the latest attempt's start
    assert again.finished_at == t("2026-11-25T10:07:00Z")


def test_a_run_records_when_it_was_queued_and_when_it_started() -> None:
    with fixture_fake() as fake:
        found = runs(Harness(fake, incident_label=None).pull())

    assert found[RUN + "502"].created_at == t("2026-11-03T11:01:00Z")
    assert found[RUN + "502"].started_at == t("2026-11-03T11:01:05Z")
    assert found[RUN + "503"].created_at == t("2026-11-25T15:00:00Z")


def test_a_re_run_beyond_the_first_page_is_found_and_a_quiet_sync_stays_on_304s() -> None:
    with FakeGitHub() as fake:
        repo = fake.repo("acme/busy")
        for n in range(150):
            at = (NOW - timedelta(days=10, minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            repo.runs.append(ci_run(2000 - n, at, "failure" if n == 140 else "success"))
        harness = Harness(fake, repos=["acme/busy"], incident_label=None)
        cursor = harness.pull()[-1].cursor
        fake.reset_log()

        assert harness.pull(cursor) == []
        assert [r.status for r in fake.requests if "/actions/runs" in r.path] == [304, 304]

        old = next(r for r in repo.runs if r["id"] == 1860)  # on the second page
        rerun(old, "success", "2026-11-25T09:00:00Z", "2026-11-25T09:06:00Z")
        fake.reset_log()
        pages = harness.pull(cursor)

    assert [r.status for r in fake.requests if "/actions/runs" in r.path] == [304, 200]
    found = runs(pages)
    assert found["github:run:acme/busy/1860"].outcome is Outcome.SUCCESS
    assert len(found) == 50  # the second page's runs, re-stored; the first page's are unchanged


def test_runs_older_than_the_re_run_window_are_not_re_read() -> None:
    with FakeGitHub() as fake:
        repo = fake.repo("acme/old")
        recent = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        aged = (NOW - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
        repo.runs += [ci_run(11, aged, "failure"), ci_run(12, recent)]
        harness = Harness(fake, repos=["acme/old"], incident_label=None, runs_days=60)
        first = harness.pull()
        assert set(runs(first)) == {"github:run:acme/old/11", "github:run:acme/old/12"}
        repo.runs.append(ci_run(13, NOW.strftime("%Y-%m-%dT%H:%M:%SZ")))

        found = runs(harness.pull(first[-1].cursor))

    # The first sync read 60 days; later syncs re-read the 30 days a run can be re-run in.
    assert set(found) == {"github:run:acme/old/12", "github:run:acme/old/13"}


def deploy_repo(fake: FakeGitHub) -> list[str]:
    """acme/web: three commits on main, PRs #5 and #6 merged as the second and third."""
    repo = fake.repo("acme/web")
    shas = ["1" * 40, "2" * 40, "3" * 40]
    repo.commits[shas[0]] = commit(shas[0], [], "Start", "2026-11-01T09:00:00Z")
    repo.commits[shas[1]] = commit(shas[1], [shas[0]], "Feature (#5)", "2026-11-02T09:00:00Z")
    repo.commits[shas[2]] = commit(shas[2], [shas[1]], "Fix (#6)", "2026-11-03T09:00:00Z")
    for n, sha in ((5, shas[1]), (6, shas[2])):
        repo.commit_pulls[sha] = [n]  # for syncs that no longer read the PRs
        day = f"2026-11-0{n - 3}T09:00:00Z"
        repo.prs[n] = pr_node(
            n,
            title=f"PR {n}",
            created=day,
            updated=day,
            state="MERGED",
            merged=day,
            merge_sha=sha,
            repo="acme/web",
        )
    return shas


def deploy_run(native: int, sha: str, conclusion: str, at: str) -> dict:
    return {
        **ci_run(native, at, conclusion),
        "name": "Deploy",
        "path": ".github/workflows/deploy.yml",
        "head_sha": sha,
        "updated_at": at.replace(":00Z", ":30Z"),
    }


def test_a_failed_deploy_run_that_succeeds_on_re_run_becomes_the_deployment() -> None:
    with FakeGitHub() as fake:
        shas = deploy_repo(fake)
        repo = fake.repos["acme/web"]
        repo.runs += [
            deploy_run(701, shas[0], "success", "2026-11-20T10:00:00Z"),
            deploy_run(702, shas[1], "failure", "2026-11-21T10:00:00Z"),
        ]
        harness = Harness(
            fake,
            repos=["acme/web"],
            deploy_workflows=["deploy.yml"],
            incident_label=None,
            workflow_runs=False,
        )
        first = harness.pull()
        assert deployments(first)["github:deploy:acme/web/run/702"].outcome is Outcome.FAILURE
        rerun(repo.runs[1], "success", "2026-11-23T08:00:00Z", "2026-11-23T08:05:00Z")

        second = harness.pull(first[-1].cursor)
        repo.runs.append(deploy_run(703, shas[2], "success", "2026-11-24T10:00:00Z"))
        third = harness.pull(second[-1].cursor)
        fake.reset_log()
        fourth = harness.pull(third[-1].cursor)

    retried = deployments(second)["github:deploy:acme/web/run/702"]
    assert retried.outcome is Outcome.SUCCESS
    assert retried.started_at == t("2026-11-23T08:00:00Z")
    assert retried.finished_at == t("2026-11-23T08:05:00Z")
    assert retried.shipped_item_ids == ("github:pr:acme/web#5",)
    latest = deployments(third)
    assert set(latest) == {"github:deploy:acme/web/run/703"}  # 702 succeeded: not settled again
    assert latest["github:deploy:acme/web/run/703"].shipped_item_ids == ("github:pr:acme/web#6",)
    assert fourth == [] and {r.status for r in fake.requests} == {304}


def test_re_running_a_successful_deploy_run_keeps_what_it_shipped() -> None:
    with FakeGitHub() as fake:
        shas = deploy_repo(fake)
        repo = fake.repos["acme/web"]
        repo.runs += [
            deploy_run(701, shas[0], "success", "2026-11-20T10:00:00Z"),
            deploy_run(702, shas[1], "success", "2026-11-21T10:00:00Z"),
        ]
        harness = Harness(
            fake,
            repos=["acme/web"],
            deploy_workflows=["deploy.yml"],
            incident_label=None,
            workflow_runs=False,
        )
        first = harness.pull()
        rerun(repo.runs[1], "failure", "2026-11-23T08:00:00Z", "2026-11-23T08:05:00Z")

        second = harness.pull(first[-1].cursor)

    shipped = deployments(first)["github:deploy:acme/web/run/702"]
    assert shipped.shipped_item_ids == ("github:pr:acme/web#5",)
    # A deployment counts at its first success (METRICS.md 2.6): a later attempt changes nothing.
    assert "github:deploy:acme/web/run/702" not in deployments(second)
