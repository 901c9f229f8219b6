"""The Jira source: a sync pulls changed issues with their full status and flag history.

Per sync: ``/serverInfo`` (Cloud or Data Center, and the server's clock), ``/field`` (the ids of
Flagged, story points and Epic Link on this site), then the search. Cloud pages the enhanced
search (read ahead in a thread) and fetches the changelogs of every 1,000 issues in one bulk
request (a few in flight at once); the bodies are decoded, mapped and stored on the caller's
thread, in order. Data Center reads the changelogs embedded in its search pages. Each yielded
page carries the cursor of the newest ``updated`` it holds, so an interrupted sync resumes after
the last stored page, and issues found unchanged in the overlap are not fetched again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from insights.model import ItemHistory, Page
from integrations.base import SourceContext, SourceError
from integrations.http import HttpClient
from integrations.jira.api import BULK_CHANGELOG_ISSUES, Changelogs, JiraApi
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
from integrations.jira.query import Cursor, base_jql, sync_jql

log = logging.getLogger(__name__)

TAIL_SLACK_MINUTES = 2
"""The search window starts up to this much before ``cursor - overlap`` (minute rounding)."""
SEARCH_READ_AHEAD = 20
"""Search pages fetched ahead of the changelog requests and storage (Cloud)."""
CHANGELOG_WORKERS = 3
"""Bulk changelog requests in flight at once (Cloud); each holds up to 1,000 issues' histories."""
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
        """Yield the issues updated since ``cursor`` (all of them without one), oldest first."""
        try:
            start = Cursor.decode(cursor)
        except ValueError as exc:
            raise SourceError(
                f"{self.name}: {exc}; reset the source's cursor to sync from the beginning"
            ) from None
        api = self._api()
        info = api.server_info()
        fields = self._field_ids(api)
        mapping = MappingContext(
            self.ctx.team, self.config.url, self.ctx.workflow, fields, api.statuses
        )
        overlap = self.config.overlap_minutes
        jql = sync_jql(self.base_jql, start.updated, self._server_now(info), overlap)
        deployment = self._deployment(info)
        log.info("%s: %s search %s", self.name, deployment, jql)
        if deployment == "cloud":
            batches = self._cloud_batches(api, jql, fields, start)
        else:
            batches = self._dc_batches(api, jql, fields, start)
        position, window = start, timedelta(minutes=overlap + TAIL_SLACK_MINUTES)
        for batch, skipped in batches:
            histories, skipped = self._map(batch, skipped, mapping)
            position = position.advance(_versions(batch), window)
            yield Page(
                histories=histories,
                cursor=position.encode() if position.updated is not None else None,
                skipped=skipped,
                unmapped_statuses=frozenset(self.ctx.workflow.unmapped),
            )
        log.info("%s: done after %d requests", self.name, self.requests)

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
            yield batch, changelogs.skipped

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
