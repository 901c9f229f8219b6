"""The GitLab source (gitlab.com and self-managed): merge requests, deployments, pipelines.

For each configured project (``group/subgroup/project`` or its numeric id) it pulls, in order:

1. merge requests updated since the last sync (``updated_after``, newest first), each with its
   notes (review requests, approvals and withdrawn ones, requested changes, ready, comments) and
   commits (first commit time), linked to the team's work items by the keys in branch, title and
   description, each with its milestone as its release; then the project's milestones (with its
   parent groups') as release plans with their due dates (:mod:`_gitlab_milestones`);
2. production deployments (by environment name or tier) with the merge requests they shipped
   (first-parent commits between them and the previous successful deployment of the same
   environment);
3. pipelines updated since the last sync (pipeline health; a retried pipeline is stored again);
4. incidents: GitLab's own (issues of type ``incident``, unless ``native_incidents: false``) and,
   with ``incident_label``, the issues carrying that label.

GitLab answers lists with offset pages (``X-Next-Page``/``Link``) and authenticates with the
``PRIVATE-TOKEN`` header; 429s carry ``Retry-After`` (handled by the shared HTTP client). The
cursor holds, per project, each stream's high-water mark and a sweep's next page. GitLab leaves
``X-Total`` out of lists of more than 10,000 records, so ``dry_run`` counts those by probing.
A cursor written before merge requests brought their milestone (no ``fields``, see
:mod:`_cursor`) loses its merge-request positions: every merge request is read again once, so the
stored ones gain their releases.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from insights.model import Page
from integrations._cursor import dump_state, forget_for_new_fields, load_state, section
from integrations._gitlab_delivery import GitLabDelivery
from integrations._gitlab_milestones import MilestoneListing
from integrations._gitlab_mrs import MergeRequestSweep, MrMapping
from integrations._rest import RestApi
from integrations._settings import DEFAULT_PRODUCTION, check_regex, check_url
from integrations._shipping import ShipLedger
from integrations.base import SourceConfig, SourceContext
from integrations.http import HttpClient

log = logging.getLogger(__name__)

SOURCE_TYPE = "gitlab"
COUNT_LIMIT = 10_000
"""GitLab omits ``X-Total`` (and ``X-Total-Pages``) from lists of more records than this."""


class Config(SourceConfig):
    """The ``type: gitlab`` section of app.yaml."""

    type: Literal["gitlab"] = "gitlab"
    token: SecretStr
    projects: tuple[str, ...] = Field(min_length=1)
    api_url: str = "https://gitlab.com/api/v4"
    page_size: int = Field(default=100, ge=1, le=100)
    bots: tuple[str, ...] = ()
    production_environments: str = DEFAULT_PRODUCTION
    pipelines: bool = True
    pipeline_days: int = Field(default=30, ge=1)
    incident_label: str | None = None
    native_incidents: bool = True
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("projects")
    @classmethod
    def _project_paths(cls, projects: tuple[str, ...]) -> tuple[str, ...]:
        for project in projects:
            if not re.match(r"^(\d+|[\w.-]+(/[\w.-]+)+)$", project):
                raise ValueError(
                    f"{project!r} is not a project; write its path (group/project) or its id"
                )
        return projects

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("production_environments")
    @classmethod
    def _production(cls, value: str) -> str:
        return check_regex(value)


def project_path(project: str) -> str:
    """The API path of a project: ``projects/group%2Fproject`` or ``projects/42``."""
    return f"projects/{quote(project, safe='')}"


class GitLabSource:
    """The GitLab source of one team."""

    kind: ClassVar[str] = "gitlab"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.name = config.display_name()
        self.api = RestApi(
            HttpClient(
                source_name=self.name,
                base_url=config.api_url,
                headers={"PRIVATE-TOKEN": config.token.get_secret_value()},
                timeout=config.timeout,
                sleep=ctx.sleep,
                clock=lambda: ctx.now().timestamp(),
            )
        )
        self.production = re.compile(config.production_environments)

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield pages of every project's changes since ``cursor``."""
        state = load_state(cursor, self.name)
        mr_streams = [("projects", project, "mrs") for project in self.config.projects]
        if forget_for_new_fields(state, mr_streams):
            log.info("%s: re-reading all merge requests once to pick up milestones", self.name)
        ledgers = {project: ShipLedger() for project in self.config.projects}
        bots = frozenset(b.lower() for b in self.config.bots)
        for project in self.config.projects:
            mapping = MrMapping(project, self.ctx.team, self.ctx.project_keys, bots)
            sweep = MergeRequestSweep(
                self.api, project_path(project), mapping, ledgers[project], self.config.page_size
            )
            yield from self._stamp(state, sweep.pull(section(state, "projects", project, "mrs")))
            milestones = MilestoneListing(self.api, project_path(project), project, self.ctx.team)
            listing = section(state, "projects", project, "milestones")
            yield from self._stamp(state, milestones.pull(listing))
        for project in self.config.projects:
            yield from self._delivery(state, project, ledgers[project])

    def _delivery(self, state: dict[str, Any], project: str, ledger: ShipLedger) -> Iterator[Page]:
        delivery = GitLabDelivery(
            self.api,
            project_path(project),
            project,
            self.ctx.team,
            ledger,
            self.ctx.now,
            self.production,
        )
        streams = section(state, "projects", project)
        yield from self._stamp(state, delivery.deployments(section(streams, "deployments")))
        if self.config.pipelines:
            pipelines = delivery.pipelines(
                section(streams, "pipelines"), self.config.pipeline_days, self.config.page_size
            )
            yield from self._stamp(state, pipelines)
        for stream, criteria in self._incident_criteria():
            incidents = delivery.incident_issues(section(streams, stream), criteria)
            yield from self._stamp(state, incidents)

    def _incident_criteria(self) -> list[tuple[str, dict[str, str]]]:
        """(cursor section, issue filter) of each configured kind of incident issue."""
        kinds = []
        if self.config.incident_label:
            kinds.append(("incidents", {"labels": self.config.incident_label}))
        if self.config.native_incidents:
            kinds.append(("native_incidents", {"issue_type": "incident"}))
        return kinds

    def _stamp(self, state: dict[str, Any], pages: Iterator[Page]) -> Iterator[Page]:
        for page in pages:
            yield dataclasses.replace(page, cursor=dump_state(state))

    def dry_run(self) -> dict[str, int]:
        """Count merge requests and deployments, storing nothing."""
        counts = {"merge_requests": 0, "deployments": 0}
        for project in self.config.projects:
            path = project_path(project)
            counts["merge_requests"] += self._total(f"{path}/merge_requests", {"state": "all"})
            counts["deployments"] += self._total(f"{path}/deployments", {})
        return counts

    def _total(self, path: str, params: dict[str, Any]) -> int:
        """``X-Total``, or (above GitLab's count limit, where it is left out) a probed count."""
        first = self.api.get(path, {**params, "per_page": 1})
        total = first.headers.get("X-Total", "").strip()
        if total.isdigit():
            return int(total)
        if not self.api.decode(first, path):
            return 0
        return self._probe_total(path, params)

    def _probe_total(self, path: str, params: dict[str, Any]) -> int:
        """The number of records, found with one-record pages: record ``n`` is page ``n``.

        Doubling from past the count limit finds a missing record, then halving the gap finds the
        last one: about twice log2(total) requests instead of a walk of every page.
        """
        present, missing = 1, COUNT_LIMIT + 1
        while self._has_record(path, params, missing):
            present, missing = missing, missing * 2
        while missing - present > 1:
            middle = (present + missing) // 2
            if self._has_record(path, params, middle):
                present = middle
            else:
                missing = middle
        return present

    def _has_record(self, path: str, params: dict[str, Any], position: int) -> bool:
        return bool(self.api.get_json(path, {**params, "per_page": 1, "page": position}))


def build(config: Config, ctx: SourceContext) -> GitLabSource:
    """Build the GitLab source from its app.yaml section."""
    return GitLabSource(config, ctx)
