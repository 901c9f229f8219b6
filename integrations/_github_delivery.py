"""GitHub deployments (or deploy workflow runs) with what they shipped, and Actions workflow runs.

Both lists come newest first by id and are read down to the settled ``last_id`` (see
:mod:`integrations._deliveries`). Their first page is a conditional request with the stored
``ETag``, so an unchanged list costs a free 304; while something is still running (``open``) the
list is re-read without it. The ETag is stored with the last page of a pass. A successful
deployment ships the first-parent commits since the previous success (compare API).

Production deployments: a GitHub deployment whose environment matches ``production_environments``
(or is flagged ``production_environment``), at its first ``success`` status (METRICS.md 2.6). A
repository that never had one can name ``deploy_workflows``: their runs (except those triggered by
pull requests) are its production deployments, at the run's finish.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from insights.model import Outcome, Page, PipelineRun, make_id
from integrations._deliveries import Candidate, Settled, Settler, is_final
from integrations._github_api import GitHubApi
from integrations._records import MALFORMED, describe, map_each
from integrations._shipping import ShipLedger, first_parent_chain
from integrations._times import parse_time, require_time
from integrations.base import SourceError

log = logging.getLogger(__name__)

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
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
        """Runs of the deploy workflows above ``state['last_id']`` as production deployments."""
        etags = state.setdefault("etags", {})
        listings = {
            workflow: self._newer(
                f"repos/{self.repo}/actions/workflows/{workflow}/runs",
                state,
                etags.get(workflow),
                items=lambda body: body["workflow_runs"],
            )
            for workflow in workflows
        }
        changed = {w: listing for w, listing in listings.items() if listing is not None}
        if not changed:
            return
        raws = [raw for listing in changed.values() for raw in listing.raws]
        mapped = map_each(
            self.api.source,
            "deploy workflow run",
            raws,
            self._run_candidate,
            lambda raw: describe(raw, "id"),
        )
        yield from self._settle(
            state,
            mapped.records,
            sum(listing.skipped for listing in changed.values()) + mapped.skipped,
            max(listing.ceiling for listing in changed.values()),
            lambda: etags.update({w: listing.etag for w, listing in changed.items()}),
        )

    def _run_candidate(self, run: dict[str, Any]) -> Candidate | None:
        if run.get("event") in PR_EVENTS:
            return None  # preview deploys of pull requests are not production
        native = int(run["id"])
        settled = Settled(
            run_outcome(run), require_time(run["updated_at"], "updated_at"), run.get("html_url")
        )
        return Candidate(
            native_id=native,
            record_id=make_id("github", "deploy", f"{self.repo}/run/{native}"),
            environment="production",
            sha=str(run["head_sha"]),
            created_at=require_time(run["created_at"], "created_at"),
            started_at=parse_time(run.get("run_started_at"), "run_started_at"),
            settle=lambda: settled,
        )

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
        """Actions runs above ``state['last_id']`` (a first sync reads the last ``days``)."""
        floor = self.now() - timedelta(days=days)
        listing = self._newer(
            f"repos/{self.repo}/actions/runs",
            state,
            state.get("etag"),
            items=lambda body: body["workflow_runs"],
            floor=None if state.get("last_id") else floor,
        )
        if listing is None:
            return
        mapped = map_each(
            self.api.source, "workflow run", listing.raws, self._pipeline_run, _run_ident
        )
        runs = sorted(mapped.records, key=lambda pair: pair[0])
        settled_so_far, now = True, self.now()
        for native, run in runs:
            if settled_so_far and is_final(run.outcome, run.started_at, now):
                state["last_id"] = native
            else:
                settled_so_far = False
        if settled_so_far:
            state["last_id"] = max(int(state.get("last_id") or 0), listing.ceiling)
        state["open"] = not settled_so_far
        state["etag"] = listing.etag
        yield Page(pipeline_runs=[run for _, run in runs], skipped=listing.skipped + mapped.skipped)

    def _pipeline_run(self, run: dict[str, Any]) -> tuple[int, PipelineRun]:
        native = int(run["id"])
        outcome = run_outcome(run)
        created = require_time(run["created_at"], "created_at")
        return native, PipelineRun(
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
        )

    # -- listing -------------------------------------------------------------------------------

    def _newer(
        self,
        path: str,
        state: dict[str, Any],
        etag: str | None,
        items: Callable[[Any], list[Any]] = lambda body: body,
        floor: datetime | None = None,
    ) -> Listing | None:
        """Records with an id above ``state['last_id']`` (and created after ``floor``).

        None when the conditional first page answers 304; the ETag is skipped while ``open``.
        """
        last_id = int(state.get("last_id") or 0)
        first = self.api.get(path, {"per_page": 100}, etag=None if state.get("open") else etag)
        if first.status_code == 304:
            return None
        found: list[dict[str, Any]] = []
        skipped = ceiling = 0
        for _, body in self.api.pages(path, {"per_page": 100}, first=first):
            for raw in items(body):
                try:
                    native = int(raw["id"])
                    too_old = floor is not None and require_time(raw["created_at"], "") < floor
                except MALFORMED as exc:
                    skipped += 1
                    log.warning(
                        "%s: skipped a malformed record of %s: %s", self.api.source, path, exc
                    )
                    continue
                if native <= last_id or too_old:
                    return Listing(found, skipped, first.headers.get("ETag"), ceiling)
                ceiling = max(ceiling, native)
                found.append(raw)
        return Listing(found, skipped, first.headers.get("ETag"), ceiling)


def _run_ident(raw: Any) -> str:
    return describe(raw, "id")
