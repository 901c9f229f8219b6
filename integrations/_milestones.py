"""Milestones as GitHub and GitLab both give them: a title that is a release, and a web link.

A pull request's or merge request's ``milestone`` is a release it belongs to
(:attr:`WorkItem.releases`, the title). Both vendors give it as an object with a ``title``; each
vendor's listing of milestones (``_github_milestones``, ``_gitlab_milestones``) turns the same
titles into plans. A milestone that is not an object or has no title is malformed: the record
keeps no release for it, and :func:`count_malformed_milestones` counts and logs each one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from insights.model import Plan
from integrations._records import MALFORMED

log = logging.getLogger(__name__)

WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)


def milestone_title(milestone: Any) -> str:
    """The title of a milestone object; ValueError/TypeError when it is malformed."""
    if not isinstance(milestone, dict):
        raise TypeError(f"milestone is not an object: {milestone!r:.80}")
    title = milestone.get("title")
    if isinstance(title, str):
        title = title.replace("\x00", "")  # as clean_page does to the items' releases
    if not isinstance(title, str) or not title.strip():
        raise ValueError("milestone has no title")
    return title


def releases_of(record: dict[str, Any]) -> tuple[str, ...]:
    """The releases of a pull/merge request: its milestone's title, or () (none, or unreadable)."""
    milestone = record.get("milestone")
    if milestone is None:
        return ()
    try:
        return (milestone_title(milestone),)
    except MALFORMED:
        return ()  # counted by count_malformed_milestones


def count_malformed_milestones(
    source: str, records: list[Any], label: Callable[[dict[str, Any]], str]
) -> int:
    """How many records carry a malformed milestone, each logged by ``label`` (``acme/api#7``)."""
    malformed = 0
    for record in records:
        milestone = record.get("milestone") if isinstance(record, dict) else None
        if milestone is None:
            continue
        try:
            milestone_title(milestone)
        except MALFORMED as exc:
            malformed += 1
            log.warning(
                "%s: kept %s without its malformed milestone: %s", source, label(record), exc
            )
    return malformed


def web_link(value: Any) -> str | None:
    """An http(s) URL as the vendor gave it; None for anything else."""
    return value if isinstance(value, str) and WEB_LINK.match(value) else None


def release_plan(
    team: str,
    source: str,
    raw: dict[str, Any],
    due_on: Callable[[dict[str, Any], str], date | None],
    link: str,
) -> Plan:
    """A listed milestone as the release plan of ``source``: its title, due day, state, link.

    ``due_on(raw, title)`` reads the vendor's date; ``link`` names the vendor's web link field.
    Raises like :func:`milestone_title` when the milestone has no title.
    """
    title = milestone_title(raw)
    return Plan(
        team=team,
        source=source,
        kind="release",
        key=title,
        name=title,
        due_on=due_on(raw, title),
        done=raw.get("state") == "closed",
        url=web_link(raw.get(link)),
    )
