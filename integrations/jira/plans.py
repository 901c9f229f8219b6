"""A Jira project's versions and a saved filter's issues as :class:`~insights.model.Plan` records.

A version (``GET /rest/api/3/project/{key}/versions``, see :mod:`integrations.jira.api`) holds
``id``, ``name``, ``released``, ``archived``, ``releaseDate`` (``YYYY-MM-DD``) and ``projectId``;
an issue's ``fixVersions`` name the same objects. A release plan is keyed by the version's name
(what :attr:`~insights.model.WorkItem.releases` holds), so versions of one name in several
projects are one release: due on the latest of their dates, done when every one is released.

A source's plans carry its name (:func:`plan_source`): each source marks its own releases and
filters complete (:class:`~insights.model.PlanSet`), which must not remove another's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from insights.model import Plan
from integrations._times import parse_day

log = logging.getLogger(__name__)

SOURCE = "jira"


def plan_source(source_name: str) -> str:
    """The ``source`` of the plans of the Jira source named ``source_name`` (``jira:<name>``).

    The unnamed source (named ``jira``) keeps plain ``jira``.
    """
    return SOURCE if source_name == SOURCE else f"{SOURCE}:{source_name}"


def release_plans(
    team: str, source: str, base_url: str, versions: Iterable[tuple[str, Any]]
) -> tuple[list[Plan], int]:
    """The releases of ``(project key, version)`` pairs, and how many were partly unreadable."""
    plans: dict[str, Plan] = {}
    unreadable = 0
    for project, version in versions:
        plan, problems = _release(team, source, base_url, project, version)
        unreadable += problems
        if plan is not None:
            known = plans.get(plan.key)
            plans[plan.key] = plan if known is None else _merged(known, plan)
    return list(plans.values()), unreadable


def filter_plan(
    team: str, source: str, base_url: str, filter_id: str, name: str, keys: Iterable[str]
) -> Plan:
    """A saved filter and the keys of the issues its JQL matches now."""
    return Plan(
        team=team,
        source=source,
        kind="filter",
        key=filter_id,
        name=name,
        item_keys=tuple(dict.fromkeys(keys)),
        url=f"{base_url}/issues/?filter={quote(filter_id, safe='')}",
    )


def _release(
    team: str, source: str, base_url: str, project: str, version: Any
) -> tuple[Plan | None, int]:
    name = version.get("name") if isinstance(version, Mapping) else None
    if not isinstance(name, str) or not name:
        log.warning("jira: skipped a version of project %s without a name", project)
        return None, 1
    due_on, problems = None, 0
    if version.get("releaseDate") is not None:
        try:
            due_on = parse_day(version["releaseDate"])
        except ValueError as exc:
            log.warning("jira: ignored the release date of version %r: %s", name[:80], exc)
            problems = 1
    plan = Plan(
        team=team,
        source=source,
        kind="release",
        key=name,
        name=name,
        due_on=due_on,
        done=version.get("released") is True,
        url=_version_url(base_url, project, version.get("id")),
    )
    return plan, problems


def _version_url(base_url: str, project: str, version_id: Any) -> str | None:
    """The version's release page; ``base_url`` is the configured http(s) site address."""
    if isinstance(version_id, bool) or not isinstance(version_id, str | int):
        return None
    text = str(version_id)
    if not (text.isascii() and text.isdigit()):
        return None
    return f"{base_url}/projects/{quote(project, safe='')}/versions/{text}"


def _merged(first: Plan, other: Plan) -> Plan:
    """One release from two projects' versions of the same name."""
    dates = [d for d in (first.due_on, other.due_on) if d is not None]
    return replace(first, due_on=max(dates, default=None), done=first.done and other.done)
