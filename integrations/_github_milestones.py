"""GitHub milestones: each repository's milestones as plans (titles read by ``_milestones``).

A pull request's milestone is a release it belongs to (:attr:`WorkItem.releases`, the title).
GraphQL ``PullRequest.milestone`` is a ``Milestone`` (``title``, ``dueOn``, ``state``, ``url``),
the REST "List pull requests" item carries the same as ``milestone`` (``title``, ``due_on``,
``state``, ``html_url``): https://docs.github.com/rest/pulls/pulls#list-pull-requests. Only the
title is read with the pull requests; the dates come from the listing, so that a milestone whose
due date moves is seen without any of its pull requests changing.

Each sync reads "List milestones" (``GET /repos/{owner}/{repo}/milestones?state=all``, pages of
up to 100 by ``page``/``per_page``, ``due_on`` an ISO 8601 instant ``YYYY-MM-DDTHH:MM:SSZ``,
``state`` ``open`` or ``closed``): https://docs.github.com/rest/issues/milestones#list-milestones.
Each page is a conditional request with its stored ``ETag`` (a 304 is free against the rate
limit); a page that answers 200 brings all its milestones again, so a sync where nothing changed
costs one 304 per page. A milestone becomes ``Plan(kind="release", key=title, name=title)`` due
on the UTC calendar day of ``due_on``, done once closed, linked to its ``html_url`` (http(s)
only). Its ``source`` is ``github:owner/name``: two repositories may hold a milestone of the same
title with different dates, and each keeps its own (a scope takes the earliest). When every page
answered 200 the page holds the whole listing and marks the repository's releases complete
(:class:`~insights.model.PlanSet`): a milestone deleted or renamed leaves storage. A listing only
partly changed (a 304 page before a 200 one) stores what changed and removes nothing.

A malformed milestone loses only what is malformed: a pull request keeps no release for a
milestone that is not an object or has no title; a listed one without a title is skipped, one
with an unreadable date is kept without it. Each is counted in the page's ``skipped`` and logged.
A listing refused (403) or missing (404: the token may not read issues, or they are off) is
logged once per sync and gives no plans for that repository; the sync goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from insights.model import Page, Plan, PlanSet
from integrations._github_api import GitHubApi
from integrations._milestones import release_plan
from integrations._records import map_each
from integrations._times import parse_time
from integrations.base import SourceError

log = logging.getLogger(__name__)

PER_PAGE = 100
REFUSED = frozenset({403, 404})


class MilestoneListing:
    """The milestones of one repository as release plans, re-read when a page changed."""

    def __init__(self, api: GitHubApi, repo: str, team: str) -> None:
        self.api = api
        self.repo = repo
        self.team = team
        self.path = f"repos/{repo}/milestones"
        self.source = f"github:{repo}"
        """The ``source`` of the repository's plans."""
        self.malformed_dates = 0

    def pull(self, state: dict[str, Any]) -> Iterator[Page]:
        """One page of plans when some page of the listing changed; ``state['pages']`` moves."""
        try:
            raws, pages, whole = self._changed_pages(state.get("pages") or [])
        except SourceError as exc:
            if exc.status not in REFUSED:
                raise
            log.warning(
                "%s: the milestones of %s answered HTTP %s; no release dates for it this sync",
                self.api.source,
                self.repo,
                exc.status,
            )
            return
        if raws is None:
            return
        self.malformed_dates = 0
        mapped = map_each(self.api.source, "milestone", raws, self._plan, self._ident)
        state["pages"] = pages
        complete = [PlanSet(self.team, self.source, "release")] if whole else []
        yield Page(
            plans=mapped.records,
            plan_sets=complete,
            skipped=mapped.skipped + self.malformed_dates,
        )

    def _changed_pages(
        self, stored: list[dict[str, Any]]
    ) -> tuple[list[Any] | None, list[dict[str, Any]], bool]:
        """(milestones of the 200 pages, or None when all answered 304; pages; all were 200).

        When every page answered 200 the milestones are the whole listing. Each page is asked
        for with its stored ETag; a 304 page is as stored, its ``more`` says whether the listing
        went on past it.
        """
        raws: list[Any] = []
        pages: list[dict[str, Any]] = []
        changed, whole, more = False, True, True
        while more:
            number = len(pages) + 1
            known = stored[number - 1] if number <= len(stored) else {}
            params = {"state": "all", "per_page": PER_PAGE, "page": number}
            response = self.api.get(self.path, params, etag=known.get("etag"))
            if response.status_code == 304:
                whole = False
                more = bool(known.get("more"))
            else:
                changed = True
                raws += self.api.decode(response, self.path)
                more = self.api.next_link(response) is not None
            pages.append({"etag": response.headers.get("ETag") or known.get("etag"), "more": more})
        return (raws if changed else None), pages, whole

    def _plan(self, raw: Any) -> Plan:
        return release_plan(self.team, self.source, raw, self._due_on, "html_url")

    def _due_on(self, raw: dict[str, Any], title: str) -> date | None:
        """The UTC calendar day of ``due_on``; None (counted, logged) when it cannot be read."""
        try:
            due = parse_time(raw.get("due_on"), "due_on")
        except ValueError as exc:
            self.malformed_dates += 1
            log.warning(
                "%s: kept milestone %r of %s without its due date: %s",
                self.api.source,
                title[:80],
                self.repo,
                exc,
            )
            return None
        return None if due is None else due.date()

    def _ident(self, raw: Any) -> str:
        number = raw.get("number") if isinstance(raw, dict) else None
        return f"{self.repo} milestone {number if number is not None else '?'}"
