"""GitLab deployments with what they shipped, pipelines, and incidents from issues.

Deployments are listed newest first by id down to the settled ``last_id`` (see
:mod:`integrations._deliveries`). A deployment is a production one when its environment's name
matches ``production_environments`` or its tier is ``production``; the deployments list gives only
the environment's id and name, so the tiers come from the environments list, read once per sync
and only when a name does not settle it. A deployment has no times of its own beyond
``created_at``/``updated_at``: it started and finished when its job (``deployable``) did; one
created through the API has no job and finished when it was last updated. A successful one ships
the merge requests merged by the first-parent commits since the previous success
(``repository/commits?ref_name=A..B&first_parent=true``), matched by merge, squash or head sha,
else by ``repository/commits/:sha/merge_requests``.

Pipelines are swept by ``updated_after`` (see :mod:`integrations._gitlab_sweep`; a first sync
reads those updated in the last ``pipeline_days``), so a pipeline whose status changes later (a
retried job turns a failed pipeline into a passed one) is read and stored again. The list has no
``started_at``/``finished_at``: each settled pipeline is read once more from the single-pipeline
endpoint, which happens once per change, as only pipelines updated since the mark are listed.
A running one is stored from the list, with its queue time as its start, until it settles.

Incidents are the issues with the configured label and, with ``native_incidents``, GitLab's own
incidents (issues of type ``incident``), each read with ``updated_after`` the newest update stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from insights.model import Incident, Outcome, Page, PipelineRun, make_id
from integrations._deliveries import Candidate, Settled, Settler
from integrations._gitlab_mrs import mr_key
from integrations._gitlab_sweep import UpdatedSweep
from integrations._records import MALFORMED, describe, map_each
from integrations._rest import RestApi
from integrations._shipping import ShipLedger
from integrations._times import format_time, parse_time, require_time
from integrations.base import SourceError

log = logging.getLogger(__name__)

OUTCOMES = {
    "success": Outcome.SUCCESS,
    "failed": Outcome.FAILURE,
    "canceled": Outcome.CANCELLED,
    "cancelled": Outcome.CANCELLED,
    "skipped": Outcome.CANCELLED,
}
"""Terminal GitLab statuses; every other one (created, pending, running...) is still running."""


class GitLabDelivery:
    """Deployments, pipelines and incident issues of one project, for one sync."""

    def __init__(
        self,
        api: RestApi,
        path: str,
        project: str,
        team: str,
        ledger: ShipLedger,
        now: Callable[[], datetime],
        production: re.Pattern[str],
    ) -> None:
        self.api = api
        self.path = path
        self.project = project
        self.team = team
        self.ledger = ledger
        self.now = now
        self.production = production
        self._tiers: dict[object, str] | None = None
        self._single_pipelines: dict[tuple[int, str], dict[str, Any] | None] = {}

    def deployments(self, state: dict[str, Any]) -> Iterator[Page]:
        """Production deployments above ``state['last_id']``, oldest first, with what shipped."""
        raws, skipped, ceiling = self._new_deployments(state)
        mapped = map_each(
            self.api.source, "deployment", raws, self._candidate, lambda r: describe(r, "id")
        )
        settler = Settler("gitlab", self.team, self.project, self.now(), self._shipped)
        yield from settler.run(state, mapped.records, skipped + mapped.skipped, ceiling)

    def _candidate(self, raw: dict[str, Any]) -> Candidate | None:
        environment = raw["environment"]
        name = str(environment["name"])
        if not self._is_production(environment, name):
            return None
        native = int(raw["id"])
        created = require_time(raw["created_at"], "created_at")
        outcome = _outcome(raw)
        job = raw.get("deployable") or {}
        finished = parse_time(job.get("finished_at"), "deployable.finished_at") or require_time(
            raw["updated_at"], "updated_at"
        )
        settled = Settled(outcome, finished, job.get("web_url"))
        return Candidate(
            native_id=native,
            record_id=make_id("gitlab", "deploy", f"{self.project}/{native}"),
            environment=name,
            sha=str(raw["sha"]),
            created_at=created,
            started_at=parse_time(job.get("started_at"), "deployable.started_at") or created,
            settle=lambda: settled,
        )

    def _is_production(self, environment: dict[str, Any], name: str) -> bool:
        """By name, else by the environment's tier (read once per sync, when first needed)."""
        if self.production.search(name):
            return True
        if self._tiers is None:
            self._tiers = self._environment_tiers()
        return self._tiers.get(environment.get("id")) == "production"

    def _environment_tiers(self) -> dict[object, str]:
        """Environment id -> tier, from the environments list (the deployments list lacks it)."""
        pages = self.api.pages(f"{self.path}/environments", {"per_page": 100})
        return {
            env["id"]: str(env.get("tier") or "")
            for _, body in pages
            for env in body
            if isinstance(env, dict) and isinstance(env.get("id"), int)
        }

    def _shipped(self, base: str, head: str) -> tuple[str, ...]:
        params = {"ref_name": f"{base}..{head}", "first_parent": "true", "per_page": 100}
        pages = self.api.pages(f"{self.path}/repository/commits", params)
        newest_first = [str(c["id"]) for _, body in pages for c in body]
        return self.ledger.shipped(self.api.source, newest_first[::-1], self._merge_requests)

    def _merge_requests(self, sha: str) -> list[str]:
        found = self.api.get_json(f"{self.path}/repository/commits/{sha}/merge_requests")
        return [
            make_id("gitlab", "mr", mr_key(mr, self.project))
            for mr in found
            if isinstance(mr, dict) and mr.get("state") == "merged"
        ]

    def pipelines(self, state: dict[str, Any], days: int, page_size: int) -> Iterator[Page]:
        """Pipelines updated since ``state['mark']`` (a first sync: the last ``days``)."""
        sweep = UpdatedSweep(self.api, f"{self.path}/pipelines", {}, page_size)
        for changed in sweep.changed(state, floor=self.now() - timedelta(days=days)):
            mapped = map_each(
                self.api.source, "pipeline", changed, self._pipeline, lambda r: describe(r, "id")
            )
            yield Page(pipeline_runs=mapped.records, skipped=mapped.skipped)

    def _pipeline(self, listed: dict[str, Any]) -> PipelineRun | None:
        """The run of a listed pipeline; a settled one as the single pipeline tells it."""
        raw: dict[str, Any] | None = listed
        if _outcome(listed) is not Outcome.RUNNING:
            raw = self._single_pipeline(int(listed["id"]), str(listed["updated_at"]))
        return None if raw is None else self._run(raw)

    def _single_pipeline(self, native: int, updated_at: str) -> dict[str, Any] | None:
        """``GET pipelines/:id``, once per (id, updated_at); None when it was deleted since."""
        key = (native, updated_at)
        if key not in self._single_pipelines:
            self._single_pipelines[key] = self._fetch_pipeline(native)
        return self._single_pipelines[key]

    def _fetch_pipeline(self, native: int) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.api.get_json(f"{self.path}/pipelines/{native}")
        except SourceError as error:
            if error.status != 404:
                raise
            log.info("%s: pipeline %s was deleted after it was listed", self.api.source, native)
            return None
        return found

    def _run(self, raw: dict[str, Any]) -> PipelineRun:
        native = int(raw["id"])
        outcome = _outcome(raw)
        created = require_time(raw["created_at"], "created_at")
        return PipelineRun(
            id=make_id("gitlab", "pipeline", f"{self.project}/{native}"),
            team=self.team,
            source="gitlab",
            name=str(raw.get("name") or f"pipeline ({raw.get('source') or 'ci'})"),
            branch=raw.get("ref"),
            outcome=outcome,
            started_at=parse_time(raw.get("started_at"), "started_at") or created,
            finished_at=None
            if outcome is Outcome.RUNNING
            else parse_time(raw.get("finished_at"), "finished_at")
            or require_time(raw["updated_at"], "updated_at"),
            url=raw.get("web_url"),
            created_at=created,
            sha=str(raw["sha"]) if raw.get("sha") else None,
        )

    def incident_issues(self, state: dict[str, Any], criteria: dict[str, str]) -> Iterator[Page]:
        """Issues matching ``criteria`` (a label, a type) updated since ``state['mark']``."""
        params: dict[str, Any] = {
            **criteria,
            "scope": "all",
            "order_by": "updated_at",
            "sort": "desc",
            "per_page": 100,
        }
        if state.get("mark"):
            params["updated_after"] = state["mark"]
        raws = [r for _, body in self.api.pages(f"{self.path}/issues", params) for r in body]
        mapped = map_each(
            self.api.source, "incident issue", raws, self._incident, lambda r: describe(r, "iid")
        )
        updates = [at for raw in raws if (at := _updated(raw)) is not None]
        if updates:
            state["mark"] = format_time(max(updates))
        yield Page(incidents=mapped.records, skipped=mapped.skipped)

    def _incident(self, raw: dict[str, Any]) -> Incident:
        reference = (raw.get("references") or {}).get("full") or f"{self.project}#{raw['iid']}"
        closed = parse_time(raw.get("closed_at"), "closed_at") if raw["state"] == "closed" else None
        return Incident(
            id=make_id("gitlab", "incident", str(reference)),
            team=self.team,
            source="gitlab",
            title=str(raw["title"]),
            created_at=require_time(raw["created_at"], "created_at"),
            resolved_at=closed,
            url=raw.get("web_url"),
        )

    def _new_deployments(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]], int, int]:
        """(deployments with an id above ``last_id`` newest first, skipped, highest id listed)."""
        last_id = int(state.get("last_id") or 0)
        params = {"order_by": "id", "sort": "desc", "per_page": 100}
        found: list[dict[str, Any]] = []
        skipped = ceiling = 0
        for _, body in self.api.pages(f"{self.path}/deployments", params):
            for raw in body:
                try:
                    native = int(raw["id"])
                except MALFORMED as exc:
                    skipped += 1
                    log.warning("%s: skipped a malformed deployment: %s", self.api.source, exc)
                    continue
                if native <= last_id:
                    return found, skipped, ceiling
                ceiling = max(ceiling, native)
                found.append(raw)
        return found, skipped, ceiling


def _outcome(raw: dict[str, Any]) -> Outcome:
    return OUTCOMES.get(str(raw["status"]), Outcome.RUNNING)


def _updated(raw: Any) -> datetime | None:
    try:
        return parse_time(raw["updated_at"])
    except MALFORMED:
        return None
