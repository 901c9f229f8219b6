"""The Jira source: a sync pulls changed issues with their full status and flag history.

Per sync: ``/serverInfo`` (Cloud or Data Center, and the server's clock), ``/field`` (the ids of
Flagged, story points and Epic Link on this site), then the search. Cloud pages the enhanced
search (read ahead in a thread) and fetches the changelogs of every 1,000 issues in one bulk
request (a few in flight at once); the bodies are decoded, mapped and stored on the caller's
thread, in order. Data Center reads the changelogs embedded in its search pages. Each yielded
page carries the cursor of the newest ``updated`` it holds, so an interrupted sync resumes after
the last stored page, and issues found unchanged in the overlap are not fetched again.

At most once a day (:data:`RECONCILE_EVERY`, remembered in the cursor) a sync then lists the
keys of every issue in scope (a key-only search: one request per 5,000 issues on Cloud) and
yields a last page whose ``live_items`` let storage mark removed the stored issues that are gone:
deleted, or moved out of scope. A moved issue comes back under its new key; when that key is in
scope and the updated search could not see it (the listing's ids and numbers tell, see
:class:`~integrations.jira.query.Reconciliation`), it is read in full first. A backfill reads
every issue anyway: it ends with a page whose cursor remembers it as that day's listing.

Last, every sync reads the releases and saved filters (a release date can change without any
issue changing): one versions request per project (the configured ones, else those of every
issue the cursor knows) and, per configured filter, the filter and a key-only search of its JQL.
They travel on a last page carrying the final cursor again, after every issue is stored. A
project or filter the account may not read (403/404; 400 for a filter, which Jira also answers
when the filter's JQL names what the account cannot see) is logged and skipped. The page marks
each set it read in full complete (:class:`~insights.model.PlanSet`): the releases when every
project's versions were read, the filters when each configured one was read or answered 404
(deleted). Storage then drops the set's other plans: a version deleted or renamed at Jira, a filter
deleted or no longer configured. One refused answer leaves that set as stored for the sync. A sync
that reads no plan at all yields no page, so the last version and filter gone at once stay stored.

A cursor stored before issues brought their fix versions and due date (see
:mod:`~integrations.jira.query`) makes the next sync read every issue again once, as a backfill
does, keeping the cursor's listing: the stored issues gain their releases, then syncs go on
incrementally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from insights.model import ItemHistory, LiveItems, Page, Plan, PlanSet, make_id
from integrations._cursor import fields_behind
from integrations.base import SourceContext, SourceError
from integrations.http import HttpClient
from integrations.jira.api import BULK_CHANGELOG_ISSUES, KEY_PAGE, Changelogs, JiraApi
from integrations.jira.config import Config
from integrations.jira.mapping import (
    FieldIds,
    MalformedIssue,
    MappingContext,
    issue_key,
    issue_updated,
    parse_time,
    resolve_fields,
    slim_issue,
    to_item_history,
)
from integrations.jira.pipeline import ordered_map, read_ahead
from integrations.jira.plans import filter_plan, plan_source, release_plans
from integrations.jira.query import (
    Cursor,
    Listing,
    base_jql,
    filter_jql,
    listing_jql,
    reread_jql,
    split_key,
    sync_jql,
)

log = logging.getLogger(__name__)

TAIL_SLACK_MINUTES = 2
"""The search window starts up to this much before ``cursor - overlap`` (minute rounding)."""
SEARCH_READ_AHEAD = 20
"""Search pages fetched ahead of the changelog requests and storage (Cloud)."""
CHANGELOG_WORKERS = 3
"""Bulk changelog requests in flight at once (Cloud); each holds up to 1,000 issues' histories."""
RECONCILE_EVERY = timedelta(days=1)
"""How often a sync lists the live issues to find the deleted and moved ones."""
REREAD_KEYS = 500
"""Keys named in one search that re-reads issues moved into scope."""
VERSIONS_REFUSED = frozenset({403, 404})
"""Answers of a project's versions that skip the project: gone, or not browsable."""
FILTER_REFUSED = frozenset({400, 403, 404})
"""Answers of a saved filter (or of its search) that skip the filter, not the sync."""
FILTER_DELETED = 404
"""The refusal that says a saved filter is gone: its plan goes too (the others may come back)."""
Batch = list[tuple[Any, Sequence[Any]]]
"""Issue payloads with their full changelogs."""


class JiraSource:
    """One team's Jira Cloud or Data Center project(s)."""

    kind: ClassVar[str] = "jira"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.name = f"{ctx.team}/{config.display_name()}"
        try:
            self.base_jql = base_jql(config.jql, config.project, ctx.project_keys)
        except ValueError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        if config.project is not None:
            self.projects: tuple[str, ...] = (config.project,)
        else:
            self.projects = ctx.project_keys if config.jql is None else ()
        self.plan_source = plan_source(config.display_name())
        self.window = timedelta(minutes=config.overlap_minutes + TAIL_SLACK_MINUTES)
        """How far back from the newest stored ``updated`` a sync looks again (and remembers)."""
        self.clients: list[HttpClient] = []

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return sum(c.stats.requests for c in self.clients)

    def _api(self) -> JiraApi:
        config = self.config
        headers: dict[str, str] = {}
        auth = None
        if config.token is not None:
            headers["Authorization"] = f"Bearer {config.token.get_secret_value()}"
        elif config.email is not None and config.api_token is not None:
            auth = (config.email, config.api_token.get_secret_value())
        client = HttpClient(
            source_name=self.name,
            base_url=config.url,
            headers=headers,
            auth=auth,
            timeout=config.timeout_seconds,
            max_retries=config.max_retries,
            sleep=self.ctx.sleep,
        )
        self.clients.append(client)
        return JiraApi(client)

    def _deployment(self, info: Mapping[str, Any]) -> str:
        if self.config.deployment != "auto":
            return self.config.deployment
        return "cloud" if str(info.get("deploymentType", "")).lower() == "cloud" else "datacenter"

    def _server_now(self, info: Mapping[str, Any]) -> datetime:
        try:
            return parse_time(info.get("serverTime"))
        except ValueError:
            return self.ctx.now()

    def _field_ids(self, api: JiraApi) -> FieldIds:
        try:
            return resolve_fields(api.fields(), self.config.story_points_field)
        except ValueError as exc:
            raise SourceError(f"{self.name}: {exc}") from None

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield the issues updated since ``cursor`` (all of them without one), oldest first.

        Then, when due, the page of the live issues (after the issues moved into scope), and
        last the releases and saved filters with the final cursor.
        """
        start = self._start(cursor)
        api = self._api()
        info = api.server_info()
        final = cursor
        for page in self._issue_pages(api, info, start, backfill=cursor is None):
            final = page.cursor or final
            yield page
        plans = self._plans_page(api, self._deployment(info), final)
        if plans is not None:
            yield plans
        log.info("%s: done after %d requests", self.name, self.requests)

    def _start(self, cursor: str | None) -> Cursor:
        """Where the sync starts: ``cursor``, or every issue again when it predates their fields.

        Issues stored before the sync read fix versions and due dates keep neither until they
        change, so such a cursor re-reads them all once (storage upserts: nothing is duplicated),
        keeping its listing of the live issues and its projects.
        """
        try:
            start = Cursor.decode(cursor)
        except ValueError as exc:
            raise SourceError(
                f"{self.name}: {exc}; reset the source's cursor to sync from the beginning"
            ) from None
        if cursor is None or not fields_behind(start.fields):
            return start
        log.info("%s: re-reading all issues once to pick up fix versions and due dates", self.name)
        return start.reread()

    def _issue_pages(
        self, api: JiraApi, info: Mapping[str, Any], start: Cursor, backfill: bool
    ) -> Iterator[Page]:
        """The issue pages from ``start``; a ``backfill`` (first sync) ends with today's listing."""
        fields = self._field_ids(api)
        mapping = MappingContext(
            self.ctx.team, self.config.url, self.ctx.workflow, fields, api.statuses
        )
        server_now = self._server_now(info)
        jql = sync_jql(self.base_jql, start.updated, server_now, self.config.overlap_minutes)
        deployment = self._deployment(info)
        log.info("%s: %s search %s", self.name, deployment, jql)
        listing = Listing(keys=None) if backfill else None
        position = start
        for batch, skipped in self._batches(api, deployment, jql, fields, start):
            histories, skipped = self._map(batch, skipped, mapping)
            position = position.advance(_versions(batch), self.window)
            if listing is not None:
                for issue_id, key in _listing(issue for issue, _ in batch):
                    listing.add(issue_id, key)
            batch.clear()  # mapped: the payloads (megabytes a batch) go before the page is stored
            yield self._page(histories, position, skipped)
        if listing is not None:  # every issue in scope was read: that is today's listing
            done = replace(position, reconciled=listing.reconciliation(server_now, None))
            if done.updated is not None:
                yield self._page([], done, 0)
        elif position.reconciliation_due(server_now, RECONCILE_EVERY):
            yield from self._reconcile(api, deployment, fields, mapping, position, server_now)

    def _plans_page(self, api: JiraApi, deployment: str, cursor: str | None) -> Page | None:
        """The releases and saved filters, on a page repeating the final ``cursor``.

        It marks complete the sets read in full (see the module's doc).
        """
        version = "3" if deployment == "cloud" else "2"
        releases, unreadable, releases_read = self._release_plans(
            api, version, Cursor.decode(cursor)
        )
        filters, filters_read = self._filter_plans(api, deployment, version)
        team, source = self.ctx.team, self.plan_source
        sets = [PlanSet(team, source, "release")] if releases_read else []
        sets += [PlanSet(team, source, "filter")] if filters_read else []
        if not releases and not filters and not unreadable:
            return None  # nothing to store: a sync that changed nothing yields no page
        return Page(
            plans=[*releases, *filters],
            plan_sets=sets,
            cursor=cursor,
            skipped=unreadable,
            unmapped_statuses=frozenset(self.ctx.workflow.unmapped),
        )

    def _release_plans(
        self, api: JiraApi, version: str, cursor: Cursor
    ) -> tuple[list[Plan], int, bool]:
        """Every version of the projects read: the configured ones, else those the cursor knows.

        With how many versions were partly unreadable, and whether every project's were read.
        """
        projects = self.projects or tuple(sorted(cursor.known_projects()))
        found: list[tuple[str, Any]] = []
        complete = True
        for project in projects:
            try:
                found.extend((project, v) for v in api.project_versions(version, project))
            except SourceError as exc:
                if exc.status not in VERSIONS_REFUSED:
                    raise
                complete = False
                log.warning(
                    "%s: skipped the releases of project %s: its versions answered HTTP %d "
                    "(the project is gone, or this account may not browse it)",
                    self.name,
                    project,
                    exc.status,
                )
        plans, unreadable = release_plans(self.ctx.team, self.plan_source, self.config.url, found)
        return plans, unreadable, complete

    def _filter_plans(self, api: JiraApi, deployment: str, version: str) -> tuple[list[Plan], bool]:
        """The configured saved filters with their issues, less those this account cannot read.

        With whether the set is complete: every filter read (one without a bounded JQL has no
        plan) or deleted; a filter refused otherwise (400, 403) may still exist at Jira.
        """
        plans = []
        complete = True
        for filter_id in self.config.filters:
            try:
                plan = self._filter_plan(api, deployment, version, filter_id)
            except SourceError as exc:
                if exc.status not in FILTER_REFUSED:
                    raise
                complete = complete and exc.status == FILTER_DELETED
                log.warning(
                    "%s: skipped saved filter %s: HTTP %d (it is deleted, not shared with this "
                    "account, or its JQL names something this account cannot see)",
                    self.name,
                    filter_id,
                    exc.status,
                )
                continue
            if plan is not None:
                plans.append(plan)
        return plans, complete

    def _filter_plan(
        self, api: JiraApi, deployment: str, version: str, filter_id: str
    ) -> Plan | None:
        """The filter with the keys of the issues its JQL matches now (None: no usable JQL)."""
        saved = api.saved_filter(version, filter_id)
        jql, name = saved.get("jql"), saved.get("name")
        search = filter_jql(jql) if isinstance(jql, str) else None
        if search is None:
            log.warning("%s: skipped saved filter %s: it has no bounded JQL", self.name, filter_id)
            return None
        pages = self._key_search(api, deployment, search)
        keys = [key for page in pages for key in map(_key, page) if key]
        title = name if isinstance(name, str) and name else f"filter {filter_id}"
        log.info("%s: saved filter %s holds %d issues", self.name, filter_id, len(keys))
        return filter_plan(self.ctx.team, self.plan_source, self.config.url, filter_id, title, keys)

    def _batches(
        self, api: JiraApi, deployment: str, jql: str, fields: FieldIds, start: Cursor
    ) -> Iterator[tuple[Batch, int]]:
        if deployment == "cloud":
            return self._cloud_batches(api, jql, fields, start)
        return self._dc_batches(api, jql, fields, start)

    def _page(self, histories: list[ItemHistory], position: Cursor, skipped: int) -> Page:
        return Page(
            histories=histories,
            cursor=position.encode() if position.updated is not None else None,
            skipped=skipped,
            unmapped_statuses=frozenset(self.ctx.workflow.unmapped),
        )

    def _reconcile(
        self,
        api: JiraApi,
        deployment: str,
        fields: FieldIds,
        mapping: MappingContext,
        position: Cursor,
        server_now: datetime,
    ) -> Iterator[Page]:
        """List the live issues, read those moved into scope, then yield the live page."""
        listed, last, moved = Listing(), position.reconciled, []
        for issue_id, key in self._list_live(api, deployment):
            listed.add(issue_id, key)
            if last is not None and last.moved_in(issue_id, key) and key not in position.recent:
                moved.append(key)
        if moved:
            log.info("%s: %d issues came into scope unseen: %s", self.name, len(moved), moved[:5])
        for keys in _batched(moved, REREAD_KEYS):
            jql = reread_jql(self.base_jql, keys)
            for batch, skipped in self._batches(api, deployment, jql, fields, Cursor()):
                histories, skipped = self._map(batch, skipped, mapping)
                yield self._page(histories, position, skipped)
        yield self._live_page(listed, position, server_now)

    def _list_live(self, api: JiraApi, deployment: str) -> Iterator[tuple[str, str]]:
        """(id, key) of every issue in scope now, from a key-only search."""
        jql = listing_jql(self.base_jql)
        log.info("%s: listing the live issues: %s", self.name, jql)
        for page in self._key_search(api, deployment, jql):
            yield from _listing(page)

    def _key_search(self, api: JiraApi, deployment: str, jql: str) -> Iterator[list[Any]]:
        """The issues of ``jql`` page by page, with their id and key only."""
        if deployment == "cloud":
            return api.cloud_search(jql, ["key"], KEY_PAGE)
        return api.dc_sweep(jql, ["key"], self.config.page_size, changelog=False)

    def _live_page(self, listed: Listing, position: Cursor, server_now: datetime) -> Page:
        """The page telling storage which issues live (and the cursor that remembers when).

        The issues stored with an ``updated`` inside the overlap window count as live even when
        the listing lacks them: Jira's search is eventually consistent (the overlap's reason
        too), and a fresh issue may not be indexed yet.
        """
        previous = position.reconciled
        keys = (listed.keys or set()) | position.stored_since(server_now - self.window)
        projects = {*self.projects, *(previous.numbers if previous is not None else ())}
        projects.update(parts[0] for parts in map(split_key, keys) if parts is not None)
        live = LiveItems(
            team=self.ctx.team,
            source=self.kind,
            id_prefixes=tuple(sorted(make_id("jira", "issue", f"{p}-") for p in projects)),
            ids=frozenset(make_id("jira", "issue", key) for key in keys),
        )
        done = replace(position, reconciled=listed.reconciliation(server_now, previous))
        log.info("%s: %d issues live in scope", self.name, len(keys))
        return Page(
            cursor=done.encode() if done.updated is not None else None,
            unmapped_statuses=frozenset(self.ctx.workflow.unmapped),
            live_items=live,
        )

    def _cloud_batches(
        self, api: JiraApi, jql: str, fields: FieldIds, start: Cursor
    ) -> Iterator[tuple[Batch, int]]:
        search = self._api().cloud_search(jql, fields.search_fields(), self.config.page_size)
        slim = ([slim_issue(i, fields) for i in page] for page in search)  # in the search thread
        pages = read_ahead(slim, SEARCH_READ_AHEAD, self.config.timeout_seconds)
        batches = _batched((i for page in pages for i in _new(page, start)), BULK_CHANGELOG_ISSUES)
        local = threading.local()

        def request_changelogs(issues: list[Any]) -> tuple[list[Any], list[str], Any]:
            ids = _ids(issues)
            if not ids:  # only malformed issues: nothing to ask
                return issues, ids, None
            if not hasattr(local, "api"):  # a session per thread: sessions are not shared
                local.api = self._api()
            return issues, ids, local.api.cloud_changelogs_request(ids, fields.changelog_fields())

        for issues, ids, first in ordered_map(request_changelogs, batches, CHANGELOG_WORKERS):
            changelogs = (
                api.cloud_changelogs(ids, fields.changelog_fields(), first) if ids else Changelogs()
            )
            batch: Batch = [(i, changelogs.by_issue.get(_id(i), [])) for i in issues]
            skipped = changelogs.skipped
            del first, changelogs  # only the batch holds the payloads now: the caller clears it
            yield batch, skipped

    def _dc_batches(
        self, api: JiraApi, jql: str, fields: FieldIds, start: Cursor
    ) -> Iterator[tuple[Batch, int]]:
        for issues in api.dc_sweep(jql, fields.search_fields(), self.config.page_size):
            batch: Batch = []
            for issue in _new(issues, start):
                changelog = issue.get("changelog") if isinstance(issue, Mapping) else None
                histories = changelog.get("histories") if isinstance(changelog, Mapping) else None
                total = changelog.get("total") if isinstance(changelog, Mapping) else None
                if not isinstance(histories, list) or (
                    isinstance(total, int) and total > len(histories)
                ):
                    try:
                        histories = api.dc_changelog(issue_key(issue))
                    except MalformedIssue:
                        histories = []  # reported when the issue itself is mapped
                batch.append((issue, histories))
            if batch:
                yield batch, 0

    def _map(
        self, batch: Batch, skipped: int, mapping: MappingContext
    ) -> tuple[list[ItemHistory], int]:
        histories: list[ItemHistory] = []
        for issue, changes in batch:
            try:
                history, bad_entries = to_item_history(issue, changes, mapping)
            except MalformedIssue as exc:
                skipped += 1
                log.warning("%s: skipped %s", self.name, exc)
                continue
            skipped += bad_entries
            histories.append(history)
        return histories, skipped

    def dry_run(self) -> dict[str, int]:
        """Count the issues a full sync would pull (Cloud gives an estimate)."""
        api = self._api()
        if self._deployment(api.server_info()) == "cloud":
            return {"issues": api.cloud_count(self.base_jql)}
        return {"issues": api.dc_count(self.base_jql)}


def _new(issues: Iterable[Any], start: Cursor) -> list[Any]:
    """The issues not already stored as they are now (the overlap re-reads a few)."""
    return [i for i in issues if not start.known(_key(i), issue_updated(i))]


def _id(issue: Any) -> str:
    value = issue.get("id") if isinstance(issue, Mapping) else None
    return "" if value is None else str(value)


def _ids(issues: Iterable[Any]) -> list[str]:
    return [i for i in map(_id, issues) if i]


def _listing(issues: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(id, key) of each issue payload that has both."""
    for issue in issues:
        issue_id, key = _id(issue), _key(issue)
        if issue_id and key:
            yield issue_id, key


def _key(issue: Any) -> str:
    key = issue.get("key") if isinstance(issue, Mapping) else None
    return key if isinstance(key, str) else ""


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _versions(batch: Batch) -> Iterator[tuple[str, datetime]]:
    """(key, updated) of every readable issue of a batch, malformed ones included."""
    for issue, _ in batch:
        updated = issue_updated(issue)
        if updated is not None:
            yield _key(issue), updated


def build(config: Config, ctx: SourceContext) -> JiraSource:
    """Build the Jira source from its app.yaml section."""
    return JiraSource(config, ctx)
