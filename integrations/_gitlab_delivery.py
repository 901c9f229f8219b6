"""GitLab deployments with what they shipped, pipelines, and incidents from labelled issues.

Deployments and pipelines are listed newest first by id down to the settled ``last_id`` (see
:mod:`integrations._deliveries`); a first sync reads pipelines of the last ``pipeline_days`` only.
A deployment is a production one when its environment's tier is ``production`` or its name
matches ``production_environments``; its time is ``finished_at``. A successful one ships the
merge requests merged by the first-parent commits since the previous success
(``repository/commits?ref_name=A..B&first_parent=true``), matched by merge, squash or head sha,
else by ``repository/commits/:sha/merge_requests``. Incidents are the issues with the configured
label, read with ``updated_after`` the newest update stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from insights.model import Incident, Outcome, Page, PipelineRun, make_id
from integrations._deliveries import Candidate, Settled, Settler, is_final
from integrations._gitlab_mrs import mr_key
from integrations._records import MALFORMED, describe, map_each
from integrations._rest import RestApi
from integrations._shipping import ShipLedger
from integrations._times import format_time, parse_time, require_time

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
    """Deployments, pipelines and incident issues of one project."""

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

    def deployments(self, state: dict[str, Any]) -> Iterator[Page]:
        """Production deployments above ``state['last_id']``, oldest first, with what shipped."""
        raws, skipped, ceiling = self._newer("deployments", state, None)
        mapped = map_each(
            self.api.source, "deployment", raws, self._candidate, lambda r: describe(r, "id")
        )
        settler = Settler("gitlab", self.team, self.project, self.now(), self._shipped)
        yield from settler.run(state, mapped.records, skipped + mapped.skipped, ceiling)

    def _candidate(self, raw: dict[str, Any]) -> Candidate | None:
        environment = raw["environment"]
        name = str(environment["name"])
        if environment.get("tier") != "production" and not self.production.search(name):
            return None
        native = int(raw["id"])
        created = require_time(raw["created_at"], "created_at")
        outcome = OUTCOMES.get(str(raw["status"]), Outcome.RUNNING)
        finished = parse_time(raw.get("finished_at"), "finished_at") or require_time(
            raw["updated_at"], "updated_at"
        )
        url = (raw.get("deployable") or {}).get("web_url")
        settled = Settled(outcome, finished, url)
        return Candidate(
            native_id=native,
            record_id=make_id("gitlab", "deploy", f"{self.project}/{native}"),
            environment=name,
            sha=str(raw["sha"]),
            created_at=created,
            started_at=created,
            settle=lambda: settled,
        )

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

    def pipelines(self, state: dict[str, Any], days: int) -> Iterator[Page]:
        """Pipelines above ``state['last_id']`` (a first sync reads the last ``days``)."""
        floor = None if state.get("last_id") else self.now() - timedelta(days=days)
        raws, skipped, ceiling = self._newer("pipelines", state, floor)
        mapped = map_each(
            self.api.source, "pipeline", raws, self._pipeline, lambda r: describe(r, "id")
        )
        runs = sorted(mapped.records, key=lambda pair: pair[0])
        settled_so_far, now = True, self.now()
        for native, run in runs:
            if settled_so_far and is_final(run.outcome, run.started_at, now):
                state["last_id"] = native
            else:
                settled_so_far = False
        if settled_so_far:
            state["last_id"] = max(int(state.get("last_id") or 0), ceiling)
        yield Page(pipeline_runs=[run for _, run in runs], skipped=skipped + mapped.skipped)

    def _pipeline(self, raw: dict[str, Any]) -> tuple[int, PipelineRun]:
        native = int(raw["id"])
        outcome = OUTCOMES.get(str(raw["status"]), Outcome.RUNNING)
        return native, PipelineRun(
            id=make_id("gitlab", "pipeline", f"{self.project}/{native}"),
            team=self.team,
            source="gitlab",
            name=str(raw.get("name") or f"pipeline ({raw.get('source') or 'ci'})"),
            branch=raw.get("ref"),
            outcome=outcome,
            started_at=parse_time(raw.get("started_at"), "started_at")
            or require_time(raw["created_at"], "created_at"),
            finished_at=None
            if outcome is Outcome.RUNNING
            else parse_time(raw.get("finished_at"), "finished_at")
            or require_time(raw["updated_at"], "updated_at"),
            url=raw.get("web_url"),
        )

    def incident_issues(self, state: dict[str, Any], label: str) -> Iterator[Page]:
        """Labelled issues updated since ``state['mark']``, as incidents."""
        params: dict[str, Any] = {
            "labels": label,
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

    def _newer(
        self, what: str, state: dict[str, Any], floor: datetime | None
    ) -> tuple[list[dict[str, Any]], int, int]:
        """(records with an id above ``last_id`` newest first, skipped, highest id listed)."""
        last_id = int(state.get("last_id") or 0)
        params = {"order_by": "id", "sort": "desc", "per_page": 100}
        found: list[dict[str, Any]] = []
        skipped = ceiling = 0
        for _, body in self.api.pages(f"{self.path}/{what}", params):
            for raw in body:
                try:
                    native = int(raw["id"])
                    too_old = floor is not None and require_time(raw["created_at"], "") < floor
                except MALFORMED as exc:
                    skipped += 1
                    log.warning(
                        "%s: skipped a malformed record of %s: %s", self.api.source, what, exc
                    )
                    continue
                if native <= last_id or too_old:
                    return found, skipped, ceiling
                ceiling = max(ceiling, native)
                found.append(raw)
        return found, skipped, ceiling


def _updated(raw: Any) -> datetime | None:
    try:
        return parse_time(raw["updated_at"])
    except MALFORMED:
        return None
