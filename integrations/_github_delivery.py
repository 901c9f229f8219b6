"""GitHub deployments (or deploy workflow runs) with what they shipped, and Actions workflow runs.

Deployments come newest first by id and are read down to the settled ``last_id`` (see
:mod:`integrations._deliveries`). The first page is a conditional request with the stored
``ETag``, so an unchanged list costs a free 304; while something is still running (``open``) the
list is re-read without it. The ETag is stored with the last page of a pass. A successful
deployment ships the first-parent commits since the previous success (compare API).

Workflow runs are listed once each, newest created first, with their latest attempt
(``run_attempt``; ``run_started_at`` is "the start time of the latest run. Resets on re-run.",
``created_at`` stays the run's first queueing). A run "can be re-run for up to 30 days after the
initial run" and keeps its place in the list, so each sync walks the pages of the runs created in
that window (:data:`RERUN_WINDOW`) and below, down to those stored already, each page a
conditional request with its own stored ``ETag``. A sync where nothing changed costs one 304 per
page of the window, nothing against the rate limit; a page that changed brings all its runs again
(stored by upsert), so a re-run replaces the run's outcome and times.

Production deployments: a GitHub deployment whose environment matches ``production_environments``
(or is flagged ``production_environment``), at its first ``success`` status (METRICS.md 2.6); the
record keeps GitHub's environment name. A repository that never had one can name
``deploy_workflows``: their runs (except those triggered by pull requests) are its production
deployments (environment ``production``), at the run's finish. A deploy run that had not
succeeded is settled again when a re-run attempt shows up; one that succeeded keeps its first
success, whatever a later attempt does.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from insights.model import Outcome, Page, PipelineRun, make_id
from integrations._deliveries import Candidate, Settled, Settler
from integrations._github_api import GitHubApi
from integrations._records import MALFORMED, describe, map_each
from integrations._shipping import ShipLedger, first_parent_chain
from integrations._times import format_time, parse_time, require_time
from integrations.base import SourceError

log = logging.getLogger(__name__)

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
RERUN_WINDOW = timedelta(days=30)
"""GitHub: a workflow run can be re-run "for up to 30 days after the initial run"."""
PER_PAGE = 100
Stop = Callable[[int, datetime], bool]
"""Where a newest-first walk of runs stops: (run id, created) -> stored already and too old."""
RUN_OUTCOMES = {
    "success": Outcome.SUCCESS,
    "neutral": Outcome.SUCCESS,
    "failure": Outcome.FAILURE,
    "timed_out": Outcome.FAILURE,
    "startup_failure": Outcome.FAILURE,
    "cancelled": Outcome.CANCELLED,
    "skipped": Outcome.CANCELLED,
    "stale": Outcome.CANCELLED,
}


@dataclass(frozen=True)
class Listing:
    """Records newer than ``last_id``, newest first, and what the pass learned."""

    raws: list[dict[str, Any]]
    skipped: int
    etag: str | None
    ceiling: int
    """The highest id listed (0 when none)."""


@dataclass(frozen=True)
class Recent:
    """The runs of the pages that changed, newest first, down to where the walk stopped."""

    raws: list[dict[str, Any]]
    skipped: int
    pages: list[dict[str, Any]]
    """What to store of each page walked: its ETag, whether the walk went on past it (``more``)
    and its last run (``last``: id and creation, to judge that again when it answers 304)."""
    changed: bool
    """Some page answered 200."""
    ceiling: int
    """The highest id listed (0 when none)."""


@dataclass(frozen=True)
class Attempt:
    """The latest attempt of a deploy run, to know whether a later re-run must be settled."""

    native_id: int
    attempt: int
    outcome: Outcome
    created_at: datetime


def run_outcome(run: dict[str, Any]) -> Outcome:
    """The outcome of a workflow run: running until ``completed``, then by its conclusion."""
    if run["status"] != "completed":
        return Outcome.RUNNING
    return RUN_OUTCOMES.get(str(run.get("conclusion")), Outcome.CANCELLED)


def settle_statuses(statuses: list[dict[str, Any]], created_at: datetime) -> Settled:
    """A deployment's outcome from its statuses: first success, else failure, else running."""
    timed = sorted(
        ((require_time(s["created_at"], "status created_at"), s) for s in statuses),
        key=lambda pair: pair[0],
    )
    url = None
    for at, status in timed:
        url = status.get("log_url") or status.get("target_url") or url
        if status["state"] == "success":
            return Settled(Outcome.SUCCESS, at, url)
    for at, status in reversed(timed):
        if status["state"] in ("failure", "error"):
            return Settled(Outcome.FAILURE, at, url)
        if status["state"] == "inactive":
            return Settled(Outcome.CANCELLED, at, url)
    return Settled(Outcome.RUNNING, timed[-1][0] if timed else created_at, url)


class Delivery:
    """Deployments, deploy runs and workflow runs of one repository."""

    def __init__(
        self,
        api: GitHubApi,
        repo: str,
        team: str,
        ledger: ShipLedger,
        now: Callable[[], datetime],
        production: re.Pattern[str],
    ) -> None:
        self.api = api
        self.repo = repo
        self.team = team
        self.ledger = ledger
        self.now = now
        self.production = production

    # -- deployments ---------------------------------------------------------------------------

    def deployments(self, state: dict[str, Any]) -> Iterator[Page]:
        """Production deployments above ``state['last_id']``, oldest first, with what shipped."""
        listing = self._newer(f"repos/{self.repo}/deployments", state, state.get("etag"))
        if listing is None:
            return
        mapped = map_each(
            self.api.source,
            "deployment",
            listing.raws,
            self._deployment_candidate,
            lambda raw: describe(raw, "id"),
        )
        if mapped.records:
            state["production_seen"] = True
        yield from self._settle(
            state,
            mapped.records,
            listing.skipped + mapped.skipped,
            listing.ceiling,
            lambda: state.update(etag=listing.etag),
        )

    def uses_workflows(self, deployments_state: dict[str, Any]) -> bool:
        """True while the repository has never had a production GitHub deployment."""
        return not deployments_state.get("production_seen")

    def _deployment_candidate(self, raw: dict[str, Any]) -> Candidate | None:
        environment = str(raw["environment"])
        if not (raw.get("production_environment") or self.production.search(environment)):
            return None
        native = int(raw["id"])
        created = require_time(raw["created_at"], "created_at")
        path = f"repos/{self.repo}/deployments/{native}/statuses"

        def settle() -> Settled:
            pages = self.api.pages(path, {"per_page": 100})
            return settle_statuses([s for _, body in pages for s in body], created)

        return Candidate(
            native_id=native,
            record_id=make_id("github", "deploy", f"{self.repo}/{native}"),
            environment=environment,
            sha=str(raw["sha"]),
            created_at=created,
            started_at=created,
            settle=settle,
        )

    def workflow_deployments(
        self, state: dict[str, Any], workflows: tuple[str, ...]
    ) -> Iterator[Page]:
        """Runs of the deploy workflows as production deployments: new ones and re-runs.

        ``state['retry']`` holds, per deploy run of the re-run window that has not succeeded, the
        attempt last settled; a later attempt is settled again.
        """
        last_id = int(state.get("last_id") or 0)
        floor = self.now() - RERUN_WINDOW
        pages = state.setdefault("pages", {})
        recents = {
            workflow: self._recent(
                f"repos/{self.repo}/actions/workflows/{workflow}/runs",
                pages.get(workflow, []),
                stop_at(floor, last_id),
                conditional=not state.get("open"),
            )
            for workflow in workflows
        }
        changed = {w: recent for w, recent in recents.items() if recent.changed}
        if not changed:
            return
        retry = state.setdefault("retry", {})
        mapped = map_each(
            self.api.source,
            "deploy workflow run",
            [raw for recent in changed.values() for raw in recent.raws],
            lambda run: self._run_candidate(run, last_id, retry),
            lambda raw: describe(raw, "id"),
        )

        def commit() -> None:
            pages.update({w: recent.pages for w, recent in changed.items()})
            remember_attempts(retry, [attempt for _, attempt in mapped.records], floor)

        yield from self._settle(
            state,
            [candidate for candidate, _ in mapped.records],
            sum(recent.skipped for recent in changed.values()) + mapped.skipped,
            max(recent.ceiling for recent in changed.values()),
            commit,
        )

    def _run_candidate(
        self, run: dict[str, Any], last_id: int, retry: dict[str, list[Any]]
    ) -> tuple[Candidate, Attempt] | None:
        """A new deploy run, or a new attempt of one that had not succeeded; else None."""
        if run.get("event") in PR_EVENTS:
            return None  # preview deploys of pull requests are not production
        native = int(run["id"])
        attempt = int(run.get("run_attempt") or 1)
        retried = retry.get(str(native))
        if native <= last_id and (retried is None or attempt <= int(retried[0])):
            return None  # settled already, and no new attempt of a run that had not succeeded
        outcome = run_outcome(run)
        created = require_time(run["created_at"], "created_at")
        started = parse_time(run.get("run_started_at"), "run_started_at")
        settled = Settled(
            outcome, require_time(run["updated_at"], "updated_at"), run.get("html_url")
        )
        candidate = Candidate(
            native_id=native,
            record_id=make_id("github", "deploy", f"{self.repo}/run/{native}"),
            environment="production",
            sha=str(run["head_sha"]),
            created_at=started or created,
            started_at=started,
            settle=lambda: settled,
        )
        return candidate, Attempt(native, attempt, outcome, created)

    def _settle(
        self,
        state: dict[str, Any],
        candidates: list[Candidate],
        skipped: int,
        ceiling: int,
        commit: Callable[[], object],
    ) -> Iterator[Page]:
        settler = Settler(self.api.source, self.team, self.repo, self.now(), self._shipped)
        return settler.run(state, candidates, skipped, ceiling, commit)

    def _shipped(self, base: str, head: str) -> tuple[str, ...]:
        path = f"repos/{self.repo}/compare/{base}...{head}"
        try:
            pages = self.api.pages(path, {"per_page": 100})
            commits = [c for _, body in pages for c in body["commits"]]
        except SourceError as exc:
            if exc.status not in (404, 422):
                raise
            log.warning("%s: cannot compare %s; nothing counted as shipped", self.api.source, path)
            return ()  # the previous sha is gone (force-push): nothing measurable shipped
        return self.ledger.shipped(self.api.source, first_parent_chain(commits, head), self._pulls)

    def _pulls(self, sha: str) -> list[str]:
        """Ids of the merged pull requests a commit belongs to (for squash/rebase merges)."""
        pulls = self.api.get_json(f"repos/{self.repo}/commits/{sha}/pulls", {"per_page": 100})
        return [
            make_id("github", "pr", f"{self.repo}#{int(p['number'])}")
            for p in pulls
            if isinstance(p, dict) and p.get("merged_at")
        ]

    # -- workflow runs -------------------------------------------------------------------------

    def workflow_runs(self, state: dict[str, Any], days: int) -> Iterator[Page]:
        """Actions runs: new ones, and those of the re-run window whose page changed.

        A first sync reads the last ``days``; later ones re-read the runs created in the last
        ``days`` or :data:`RERUN_WINDOW`, whichever is shorter, and everything above ``last_id``.
        """
        last_id = int(state.get("last_id") or 0)
        recent = self._recent(
            f"repos/{self.repo}/actions/runs",
            state.get("pages") or [],
            self._runs_stop(days, last_id),
        )
        if not recent.changed:
            return
        mapped = map_each(
            self.api.source, "workflow run", recent.raws, self._pipeline_run, _run_ident
        )
        state["pages"] = recent.pages
        state["last_id"] = max(last_id, recent.ceiling)
        yield Page(pipeline_runs=mapped.records, skipped=recent.skipped + mapped.skipped)

    def _runs_stop(self, days: int, last_id: int) -> Stop:
        """Where a walk of the runs stops: see :meth:`workflow_runs`."""
        reach = timedelta(days=days)
        if not last_id:
            return stop_at(self.now() - reach, None)
        return stop_at(self.now() - min(reach, RERUN_WINDOW), last_id)

    def _pipeline_run(self, run: dict[str, Any]) -> PipelineRun:
        """A run as GitHub shows it now (its latest attempt).

        Queued at ``created_at``, started at ``run_started_at``, finished at ``updated_at`` once
        completed; it built ``head_sha``.
        """
        native = int(run["id"])
        outcome = run_outcome(run)
        created = require_time(run["created_at"], "created_at")
        return PipelineRun(
            id=make_id("github", "run", f"{self.repo}/{native}"),
            team=self.team,
            source="github",
            name=str(run.get("name") or run.get("path") or "workflow"),
            branch=run.get("head_branch"),
            outcome=outcome,
            started_at=parse_time(run.get("run_started_at"), "run_started_at") or created,
            finished_at=(
                None
                if outcome is Outcome.RUNNING
                else require_time(run["updated_at"], "updated_at")
            ),
            url=run.get("html_url"),
            created_at=created,
            sha=str(run["head_sha"]) if run.get("head_sha") else None,
        )

    # -- listing -------------------------------------------------------------------------------

    def _newer(self, path: str, state: dict[str, Any], etag: str | None) -> Listing | None:
        """Records with an id above ``state['last_id']``, newest first.

        None when the conditional first page answers 304; the ETag is skipped while ``open``.
        """
        last_id = int(state.get("last_id") or 0)
        first = self.api.get(path, {"per_page": PER_PAGE}, etag=None if state.get("open") else etag)
        if first.status_code == 304:
            return None
        found: list[dict[str, Any]] = []
        skipped = ceiling = 0
        for _, body in self.api.pages(path, {"per_page": PER_PAGE}, first=first):
            for raw in body:
                try:
                    native = int(raw["id"])
                except MALFORMED as exc:
                    skipped += 1
                    log.warning(
                        "%s: skipped a malformed record of %s: %s", self.api.source, path, exc
                    )
                    continue
                if native <= last_id:
                    return Listing(found, skipped, first.headers.get("ETag"), ceiling)
                ceiling = max(ceiling, native)
                found.append(raw)
        return Listing(found, skipped, first.headers.get("ETag"), ceiling)

    def _recent(
        self, path: str, stored: list[dict[str, Any]], stop: Stop, conditional: bool = True
    ) -> Recent:
        """The runs of ``path`` newest first until ``stop``, page by page.

        Each page is asked for with its stored ETag (unless not ``conditional``). A page that
        answers 304 is unchanged since it was stored: its runs are not listed again, and whether
        the walk goes on past it is judged from its stored last run.
        """
        raws: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        skipped, changed = 0, False
        for number in itertools.count(1):
            known = stored[number - 1] if number <= len(stored) else {}
            etag = known.get("etag") if conditional else None
            response = self.api.get(path, {"per_page": PER_PAGE, "page": number}, etag=etag)
            if response.status_code == 304:
                page = known
                more = bool(known.get("more")) and not _ends(known, stop)
            else:
                changed = True
                found, skipped_here, page = self._read_page(response, path, stop)
                raws += found
                skipped += skipped_here
                more = page["more"]
            pages.append(page)
            if not more:
                break
        ceiling = max((int(raw["id"]) for raw in raws), default=0)
        return Recent(raws, skipped, pages, changed, ceiling)

    def _read_page(
        self, response: requests.Response, path: str, stop: Stop
    ) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
        """(runs before ``stop``, malformed ones skipped, what to store of the page)."""
        found: list[dict[str, Any]] = []
        skipped, reached, last = 0, False, None
        for raw in self.api.decode(response, path)["workflow_runs"]:
            try:
                native, created = int(raw["id"]), require_time(raw["created_at"], "created_at")
            except MALFORMED as exc:
                skipped += 1
                log.warning("%s: skipped a malformed record of %s: %s", self.api.source, path, exc)
                continue
            if stop(native, created):
                reached = True
                break
            found.append(raw)
            last = [native, format_time(created)]
        more = not reached and self.api.next_link(response) is not None
        return found, skipped, {"etag": response.headers.get("ETag"), "more": more, "last": last}


def stop_at(floor: datetime, stored_upto: int | None) -> Stop:
    """Stop at a run created before ``floor`` whose id is ``stored_upto`` or below (None: any)."""
    return lambda native, created: (
        created < floor and (stored_upto is None or native <= stored_upto)
    )


def _ends(page: dict[str, Any], stop: Stop) -> bool:
    """Whether a stored page's last run is already where the walk stops (the floor moves)."""
    last = page.get("last")
    if not last:
        return False
    return stop(int(last[0]), require_time(last[1], "last"))


def remember_attempts(
    retry: dict[str, list[Any]], attempts: list[Attempt], floor: datetime
) -> None:
    """Track the deploy runs that may still become a deployment on a re-run.

    A success is a deployment for good and is dropped; a failure keeps the attempt settled; a
    running attempt keeps the one before, so it is settled again once it ends. Runs created
    before ``floor`` can no longer be re-run and are dropped.
    """
    for attempt in attempts:
        key = str(attempt.native_id)
        if attempt.outcome is Outcome.SUCCESS:
            retry.pop(key, None)
        else:
            running = attempt.outcome is Outcome.RUNNING
            retry[key] = [attempt.attempt - running, format_time(attempt.created_at)]
    for key in [k for k, (_, created) in retry.items() if require_time(created, "created") < floor]:
        del retry[key]


def _run_ident(raw: Any) -> str:
    return describe(raw, "id")
