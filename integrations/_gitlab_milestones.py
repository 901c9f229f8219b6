"""GitLab milestones: each project's milestones as plans (titles read by ``_milestones``).

A merge request's milestone is a release it belongs to (:attr:`WorkItem.releases`, the title).
"List project merge requests" gives each MR its ``milestone`` (``title``, ``due_date``,
``state``, ``web_url``): https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests.
It may be a group milestone (no ``project_id``, a ``group_id``); its title is the release all the
same. Only the title is read with the merge requests; the dates come from the listing, so that a
milestone whose due date moves is seen without any of its merge requests changing.

Each sync reads "List project milestones" (``GET /projects/:id/milestones``, offset pages,
``due_date`` a calendar day ``YYYY-MM-DD``, ``state`` ``active`` or ``closed``):
https://docs.gitlab.com/api/milestones/#list-project-milestones. With ``include_ancestors=true``
("Include milestones from all parent groups", GitLab 16.7; ``include_parent_milestones`` before)
the same listing holds the group milestones the project's merge requests can carry, so they cost
nothing more; a GitLab older than that ignores the parameter and lists the project's own. The
GitLab source makes no conditional requests, so the listing is read in full each sync (one request
per 100 milestones); a digest of it in the cursor keeps an unchanged listing from being stored
again. A milestone becomes ``Plan(kind="release", key=title, name=title)`` due on
its ``due_date``, done once closed, linked to its ``web_url`` (http(s) only). Its ``source`` is
``gitlab:group/project``: two projects may hold a milestone of the same title with different
dates, and each keeps its own (a scope takes the earliest). The page of a changed listing holds
it whole, so it marks the project's releases complete (:class:`~insights.model.PlanSet`): a
milestone deleted or renamed leaves storage.

A malformed milestone loses only what is malformed: a merge request keeps no release for a
milestone that is not an object or has no title; a listed one without a title is skipped, one
with an unreadable date is kept without it. Each is counted in the page's ``skipped`` and logged.
A listing refused (403) or missing (404: milestones are off in the project) is logged once per
sync and gives no plans for that project; the sync goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from insights.model import Page, Plan, PlanSet
from integrations._milestones import release_plan
from integrations._records import map_each
from integrations._rest import RestApi
from integrations._times import parse_day
from integrations.base import SourceError

log = logging.getLogger(__name__)

PER_PAGE = 100
REFUSED = frozenset({403, 404})


class MilestoneListing:
    """The milestones of one project (and of its parent groups) as release plans."""

    def __init__(self, api: RestApi, path: str, project: str, team: str) -> None:
        self.api = api
        self.path = f"{path}/milestones"
        self.project = project
        self.team = team
        self.source = f"gitlab:{project}"
        """The ``source`` of the project's plans."""
        self.malformed_dates = 0

    def pull(self, state: dict[str, Any]) -> Iterator[Page]:
        """One page of every milestone's plan when the listing changed (``state['digest']``)."""
        params = {"include_ancestors": "true", "per_page": PER_PAGE}
        try:
            raws = [raw for _, body in self.api.pages(self.path, params) for raw in body]
        except SourceError as exc:
            if exc.status not in REFUSED:
                raise
            log.warning(
                "%s: the milestones of %s answered HTTP %s; no release dates for it this sync",
                self.api.source,
                self.project,
                exc.status,
            )
            return
        digest = hashlib.sha256(json.dumps(raws, sort_keys=True).encode()).hexdigest()
        if digest == state.get("digest"):
            return
        self.malformed_dates = 0
        mapped = map_each(self.api.source, "milestone", raws, self._plan, self._ident)
        state["digest"] = digest
        yield Page(
            plans=mapped.records,
            plan_sets=[PlanSet(self.team, self.source, "release")],
            skipped=mapped.skipped + self.malformed_dates,
        )

    def _plan(self, raw: Any) -> Plan:
        return release_plan(self.team, self.source, raw, self._due_on, "web_url")

    def _due_on(self, raw: dict[str, Any], title: str) -> date | None:
        """The ``due_date`` calendar day; None (counted, logged) when it cannot be read."""
        due = raw.get("due_date")
        if due is None or due == "":
            return None
        try:
            return parse_day(due)
        except ValueError:
            self.malformed_dates += 1
            log.warning(
                "%s: kept milestone %r of %s without its due date %r",
                self.api.source,
                title[:80],
                self.project,
                str(due)[:40],
            )
            return None

    def _ident(self, raw: Any) -> str:
        number = raw.get("id") if isinstance(raw, dict) else None
        return f"{self.project} milestone {number if number is not None else '?'}"
