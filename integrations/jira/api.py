"""The Jira REST calls a sync makes, and how each one pages.

Cloud: ``POST /rest/api/3/search/jql`` follows ``nextPageToken`` (the token chain is sequential
and stable while issues change), ``POST /rest/api/3/changelog/bulkfetch`` fetches the histories of
up to 1,000 issues at once, filtered to the fields that matter. Data Center: ``POST
/rest/api/2/search`` pages by ``startAt`` with ``expand=changelog``; a truncated embedded changelog
is completed by ``GET /rest/api/2/issue/{key}?expand=changelog``. Listing the live issues asks
both searches for the ``key`` field only: Cloud then grants its largest pages (5,000 issues).

Releases and saved filters (the same paths on both, ``3`` on Cloud and ``2`` on Data Center):
``GET /rest/api/{3,2}/project/{key}/versions`` lists every version of a project, unpaginated
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-project-versions/
#api-rest-api-3-project-projectidorkey-versions-get); ``GET /rest/api/{3,2}/filter/{id}`` gives a
filter's ``name`` and ``jql``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-filters/
#api-rest-api-3-filter-id-get). Data Center documents the same shapes under ``/rest/api/2``
(https://docs.atlassian.com/software/jira/docs/api/REST/latest/, project and filter resources).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from integrations.base import SourceError
from integrations.http import HttpClient

log = logging.getLogger(__name__)

BULK_CHANGELOG_ISSUES = 1000
"""Most issues one bulk changelog request may name (Jira answers 400 above it)."""
BULK_CHANGELOG_PAGE = 10_000
"""Most histories one bulk changelog page returns."""
BULK_CHANGELOG_PATH = "rest/api/3/changelog/bulkfetch"
KEY_PAGE = 5000
"""Most issues a Cloud search page holds when only ``id`` or ``key`` is asked for."""


@dataclass
class Changelogs:
    """Histories by issue id, and the bulk entries that could not be attributed to an issue."""

    by_issue: dict[str, list[Any]] = field(default_factory=dict)
    skipped: int = 0


class JiraApi:
    """Typed access to the few Jira endpoints a sync needs, through the shared HTTP client."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _object(self, data: Any, path: str, *keys: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping) or any(k not in data for k in keys):
            raise SourceError(
                f"{self.http.source_name}: {path} answered without {', '.join(keys) or 'a JSON '}"
                f"{' ' if keys else ''}object; check that {self.http.base_url} is a Jira site"
            )
        return data

    def _list(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = data.get(key)
        if not isinstance(value, list):
            raise SourceError(
                f"{self.http.source_name}: {path} answered without a list of {key!r}; "
                f"check that {self.http.base_url} is a Jira site"
            )
        return value

    def server_info(self) -> Mapping[str, Any]:
        """``/serverInfo``: ``deploymentType`` (Cloud, Server, DataCenter) and ``serverTime``."""
        path = "rest/api/2/serverInfo"
        return self._object(self.http.get_json(path), path)

    def fields(self) -> list[Any]:
        """``/field``: every system and custom field with its id and name."""
        data = self.http.get_json("rest/api/2/field")
        if not isinstance(data, list):
            raise SourceError(f"{self.http.source_name}: /field did not answer a list")
        return data

    def statuses(self) -> list[Any]:
        """``/status``: every status with its category."""
        data = self.http.get_json("rest/api/2/status")
        return data if isinstance(data, list) else []

    def project_versions(self, api: str, project: str) -> list[Any]:
        """Every version (fix version, release) of ``project``: ``name``, ``releaseDate``..."""
        path = f"rest/api/{api}/project/{quote(project, safe='')}/versions"
        data = self.http.get_json(path)
        if not isinstance(data, list):
            raise SourceError(f"{self.http.source_name}: {path} did not answer a list")
        return data

    def saved_filter(self, api: str, filter_id: str) -> Mapping[str, Any]:
        """A saved filter: its ``name`` and ``jql``."""
        path = f"rest/api/{api}/filter/{quote(filter_id, safe='')}"
        return self._object(self.http.get_json(path), path)

    def cloud_search(self, jql: str, fields: Sequence[str], page_size: int) -> Iterator[list[Any]]:
        """Yield the issues of ``jql`` page by page, following the token chain."""
        path = "rest/api/3/search/jql"
        token: str | None = None
        tokens: set[str] = set()
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
            if token is not None:
                body["nextPageToken"] = token
            data = self._object(self.http.post_json(path, body), path, "issues")
            yield self._list(data, "issues", path)
            token = data.get("nextPageToken")
            if data.get("isLast") is True or not isinstance(token, str) or not token:
                return
            if token in tokens:  # a server bug would otherwise loop forever
                raise SourceError(
                    f"{self.http.source_name}: {path} returned the same page token twice; "
                    "the sync stops here and resumes from its last stored page"
                )
            tokens.add(token)

    def cloud_changelogs_request(
        self, issue_ids: Sequence[str], field_ids: Sequence[str]
    ) -> requests.Response:
        """Send the first bulk changelog request and read its body, without decoding it.

        Meant for a worker thread: the wait and the transfer overlap other work, while the
        decoding stays with :meth:`cloud_changelogs` on the thread that maps the issues.
        """
        response = self.http.request(
            "POST", BULK_CHANGELOG_PATH, json=_bulk_body(issue_ids, field_ids)
        )
        response.content  # noqa: B018 - read the body here, on this thread
        return response

    def cloud_changelogs(
        self,
        issue_ids: Sequence[str],
        field_ids: Sequence[str],
        first: requests.Response | None = None,
    ) -> Changelogs:
        """The histories of up to 1,000 issues (only ``field_ids`` changes), all pages.

        ``first`` is the answer to the first request when :meth:`cloud_changelogs_request`
        already sent it.
        """
        if len(issue_ids) > BULK_CHANGELOG_ISSUES:
            raise ValueError(f"at most {BULK_CHANGELOG_ISSUES} issues per bulk changelog request")
        path = BULK_CHANGELOG_PATH
        result = Changelogs({i: [] for i in issue_ids})
        token: str | None = None
        while True:
            if first is not None:
                answer, first = self.http.decode_json(first, path), None
            else:
                answer = self.http.post_json(path, _bulk_body(issue_ids, field_ids, token))
            data = self._object(answer, path, "issueChangeLogs")
            for log_entry in self._list(data, "issueChangeLogs", path):
                histories = _get_list(log_entry, "changeHistories")
                issue_id = log_entry.get("issueId") if isinstance(log_entry, Mapping) else None
                if issue_id is None or histories is None:
                    result.skipped += 1
                    log.warning(
                        "%s: skipped a bulk changelog entry without issueId or histories",
                        self.http.source_name,
                    )
                    continue
                result.by_issue.setdefault(str(issue_id), []).extend(histories)
            next_token = data.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token or next_token == token:
                return result
            token = next_token

    def cloud_count(self, jql: str) -> int:
        """Jira Cloud's estimate of how many issues ``jql`` matches."""
        path = "rest/api/3/search/approximate-count"
        data = self._object(self.http.post_json(path, {"jql": jql}), path, "count")
        return int(data["count"])

    def dc_search(
        self, jql: str, fields: Sequence[str], start_at: int, size: int, changelog: bool = True
    ) -> Mapping[str, Any]:
        """One Data Center search page (``issues`` and ``total``), changelogs embedded or not."""
        path = "rest/api/2/search"
        body: dict[str, Any] = {
            "jql": jql,
            "startAt": start_at,
            "maxResults": size,
            "fields": list(fields),
        }
        if changelog:
            body["expand"] = ["changelog"]
        data = self._object(self.http.post_json(path, body), path, "issues", "total")
        self._list(data, "issues", path)
        return data

    def dc_sweep(
        self, jql: str, fields: Sequence[str], page_size: int, changelog: bool = True
    ) -> Iterator[list[Any]]:
        """Yield the issues of ``jql`` page by page, each issue once per version.

        Offsets shift when an issue already read is updated during the sweep (it moves to the
        end of the ``updated`` order), which would skip the issue at the next page boundary. So
        each page re-reads the last issue of the previous one: when that issue is not where it
        was, the window moved and the sweep looks further back until it finds known ground.
        """
        seen: set[tuple[str, str]] = set()
        offset, back = 0, 1
        while True:
            start = max(0, offset - back)
            data = self.dc_search(jql, fields, start, page_size, changelog)
            issues: list[Any] = data["issues"]
            if start > 0 and issues and _version(issues[0]) not in seen:
                back *= 2  # the window moved by more than we re-read: look further back
                continue
            fresh = [i for i in issues if _version(i) not in seen]
            seen.update(_version(i) for i in issues)
            if fresh:
                yield fresh
            end = start + len(issues)
            total = data.get("total")
            if not issues or not isinstance(total, int) or end >= total:
                return
            if end <= offset:
                raise SourceError(
                    f"{self.http.source_name}: rest/api/2/search returns pages too small to "
                    "advance; raise jira.search.views.default.max on the server"
                )
            offset, back = end, 1

    def dc_changelog(self, key: str) -> list[Any]:
        """The full changelog of one issue (when the one embedded in the search is truncated)."""
        path = f"rest/api/2/issue/{key}"
        data = self.http.get_json(path, params={"fields": "status", "expand": "changelog"})
        changelog = self._object(self._object(data, path, "changelog")["changelog"], path)
        return self._list(changelog, "histories", path)

    def dc_count(self, jql: str) -> int:
        """How many issues ``jql`` matches (a search page of zero issues carries the total)."""
        path = "rest/api/2/search"
        body = {"jql": jql, "startAt": 0, "maxResults": 0, "fields": ["id"]}
        data = self._object(self.http.post_json(path, body), path, "total")
        return int(data["total"])


def _bulk_body(
    issue_ids: Sequence[str], field_ids: Sequence[str], token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "issueIdsOrKeys": list(issue_ids),
        "fieldIds": list(field_ids),
        "maxResults": BULK_CHANGELOG_PAGE,
    }
    if token is not None:
        body["nextPageToken"] = token
    return body


def _get_list(data: Any, key: str) -> list[Any] | None:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, list) else None


def _version(issue: Any) -> tuple[str, str]:
    """An issue as of one update: its key and ``updated`` text."""
    if not isinstance(issue, Mapping):
        return ("", repr(issue))
    fields = issue.get("fields")
    updated = fields.get("updated") if isinstance(fields, Mapping) else None
    return (str(issue.get("key")), str(updated))
