"""Incidents from GitHub issues that carry the configured label (for teams without PagerDuty).

The labelled issues are read newest update first, down to the newest update stored last time
(re-reading that one). The first page is always the same request, so when nothing changed its
stored ``ETag`` gives a free 304; ``since`` would change the request each time the mark moves and
cost a 200 on the following sync. Pull requests (which ``/issues`` also lists) are ignored. An
issue is an incident from its creation to its closing; GitHub links it to no deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from insights.model import Incident, Page, make_id
from integrations._github_api import GitHubApi
from integrations._records import MALFORMED, describe, map_each
from integrations._times import format_time, parse_time, require_time


def to_incident(raw: dict[str, Any], repo: str, team: str) -> Incident | None:
    """The incident of one labelled issue (None for a pull request)."""
    if raw.get("pull_request"):
        return None
    number = int(raw["number"])
    closed = parse_time(raw.get("closed_at"), "closed_at") if raw["state"] == "closed" else None
    return Incident(
        id=make_id("github", "incident", f"{repo}#{number}"),
        team=team,
        source="github",
        title=str(raw["title"]),
        created_at=require_time(raw["created_at"], "created_at"),
        resolved_at=closed,
        url=raw.get("html_url"),
    )


def incident_issues(
    api: GitHubApi, repo: str, team: str, label: str, state: dict[str, Any]
) -> Iterator[Page]:
    """One page of the incidents updated since ``state['mark']``; the mark moves with it."""
    params = {
        "labels": label,
        "state": "all",
        "sort": "updated",
        "direction": "desc",
        "per_page": 100,
    }
    path = f"repos/{repo}/issues"
    first = api.get(path, params, etag=state.get("etag"))
    if first.status_code == 304:
        return
    mark = parse_time(state.get("mark"))
    newest: datetime | None = None
    raws: list[Any] = []
    for _, body in api.pages(path, params, first=first):
        updates = [_updated(raw) for raw in body]
        raws += [raw for raw, at in zip(body, updates, strict=True) if not _older(at, mark)]
        known = [at for at in updates if at is not None] + ([newest] if newest else [])
        newest = max(known, default=None)
        if any(_older(at, mark) for at in updates):
            break
    mapped = map_each(
        api.source,
        "incident issue",
        raws,
        lambda raw: to_incident(raw, repo, team),
        lambda raw: describe(raw, "number", "id"),
    )
    if newest is not None:
        state["mark"] = format_time(newest)
    state["etag"] = first.headers.get("ETag")
    yield Page(incidents=mapped.records, skipped=mapped.skipped)


def _older(at: datetime | None, mark: datetime | None) -> bool:
    return at is not None and mark is not None and at < mark


def _updated(raw: Any) -> datetime | None:
    try:
        return parse_time(raw["updated_at"])
    except MALFORMED:
        return None
