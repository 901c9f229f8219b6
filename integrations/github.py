"""The GitHub source (github.com and GitHub Enterprise Server): pull requests, deployments, runs.

For each configured repository it pulls, in this order:

1. pull requests in every state with their review timeline (GraphQL, newest first, stopping at
   the last sync's high-water mark; a free conditional REST request first tells whether anything
   changed at all), linked to the team's work items by the keys in branch, title and body, each
   with its milestone as its release; then the repository's milestones (every state, each page a
   conditional request) as release plans with their due dates (:mod:`_github_milestones`);
2. production deployments with what they shipped (the pull requests between them and the
   previous successful deployment, via the compare API), or, for a repository without GitHub
   deployments, runs of the configured ``deploy_workflows``; each keeps GitHub's environment name;
3. Actions workflow runs (pipeline health): a first sync reads the last ``runs_days``; later ones
   also re-read the runs of the last ``runs_days`` or 30 days (GitHub's re-run limit), whichever
   is shorter, so a re-run replaces the outcome stored;
4. with ``incident_label``, incidents from the issues carrying that label.

The cursor is a JSON document with, per repository, each stream's ETag(s) and high-water mark,
and the position of a pull-request sweep in progress; it moves only with stored pages. A sync
where nothing changed costs one 304 per stream and repository (per page of the re-run window for
the runs and of the milestones): nothing against the rate limit. A cursor written before pull
requests brought their milestone (no ``fields``, see :mod:`_cursor`) loses its pull-request
positions: every pull request is read again once, so the stored ones gain their releases.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from insights.model import Page
from integrations._cursor import dump_state, forget_for_new_fields, load_state, section
from integrations._github_api import GitHubApi
from integrations._github_delivery import Delivery
from integrations._github_incidents import incident_issues
from integrations._github_milestones import MilestoneListing
from integrations._github_prs import PrMapping, PullRequestSweep, repository_of
from integrations._settings import DEFAULT_PRODUCTION, check_regex, check_url
from integrations._shipping import ShipLedger
from integrations.base import SourceConfig, SourceContext

log = logging.getLogger(__name__)

SOURCE_TYPE = "github"
REPO_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
COUNTS = """
query Counts($owner: String!, $name: String!) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequests { totalCount }
    deployments { totalCount }
  }
}
"""


class Config(SourceConfig):
    """The ``type: github`` section of app.yaml."""

    type: Literal["github"] = "github"
    token: SecretStr
    repos: tuple[str, ...] = Field(min_length=1)
    api_url: str = "https://api.github.com"
    graphql_url: str | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    bots: tuple[str, ...] = ()
    production_environments: str = DEFAULT_PRODUCTION
    deploy_workflows: tuple[str, ...] = ()
    workflow_runs: bool = True
    runs_days: int = Field(default=30, ge=1)
    incident_label: str | None = None
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, repos: tuple[str, ...]) -> tuple[str, ...]:
        for repo in repos:
            if not re.match(REPO_PATTERN, repo):
                raise ValueError(f"{repo!r} is not a repository name; write it as owner/name")
        return repos

    @field_validator("api_url", "graphql_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("production_environments")
    @classmethod
    def _production(cls, value: str) -> str:
        return check_regex(value)


class GitHubSource:
    """The GitHub source of one team."""

    kind: ClassVar[str] = "github"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.name = config.display_name()
        self.api = GitHubApi(
            self.name,
            config.api_url,
            config.token.get_secret_value(),
            graphql=config.graphql_url,
            timeout=config.timeout,
            now=ctx.now,
            sleep=ctx.sleep,
        )
        self.production = re.compile(config.production_environments)

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield pages of every repository's changes since ``cursor``."""
        state = load_state(cursor, self.name)
        pr_streams = [("repos", repo, "prs") for repo in self.config.repos]
        if forget_for_new_fields(state, pr_streams):
            log.info("%s: re-reading all pull requests once to pick up milestones", self.name)
        ledgers = {repo: ShipLedger() for repo in self.config.repos}
        for repo in self.config.repos:
            mapping = PrMapping(
                repo,
                self.ctx.team,
                self.ctx.project_keys,
                frozenset(b.lower() for b in self.config.bots),
            )
            sweep = PullRequestSweep(self.api, mapping, ledgers[repo], self.config.page_size)
            yield from self._stamp(state, sweep.pull(section(state, "repos", repo, "prs")))
            milestones = MilestoneListing(self.api, repo, self.ctx.team)
            yield from self._stamp(
                state, milestones.pull(section(state, "repos", repo, "milestones"))
            )
        for repo in self.config.repos:
            yield from self._delivery(state, repo, ledgers[repo])

    def _delivery(self, state: dict[str, Any], repo: str, ledger: ShipLedger) -> Iterator[Page]:
        delivery = Delivery(self.api, repo, self.ctx.team, ledger, self.ctx.now, self.production)
        deployments = section(state, "repos", repo, "deployments")
        yield from self._stamp(state, delivery.deployments(deployments))
        if self.config.deploy_workflows and delivery.uses_workflows(deployments):
            yield from self._stamp(
                state,
                delivery.workflow_deployments(
                    section(state, "repos", repo, "deploy_runs"), self.config.deploy_workflows
                ),
            )
        if self.config.workflow_runs:
            runs = section(state, "repos", repo, "runs")
            yield from self._stamp(state, delivery.workflow_runs(runs, self.config.runs_days))
        if self.config.incident_label:
            yield from self._stamp(
                state,
                incident_issues(
                    self.api,
                    repo,
                    self.ctx.team,
                    self.config.incident_label,
                    section(state, "repos", repo, "incidents"),
                ),
            )

    def _stamp(self, state: dict[str, Any], pages: Iterator[Page]) -> Iterator[Page]:
        """Give each page the cursor of the state as it stands once that page is stored."""
        for page in pages:
            yield dataclasses.replace(page, cursor=dump_state(state))

    def dry_run(self) -> dict[str, int]:
        """Count pull requests, deployments and recent workflow runs, storing nothing."""
        counts = {"pull_requests": 0, "deployments": 0, "workflow_runs": 0}
        for repo in self.config.repos:
            owner, name = repo.split("/", 1)
            data = self.api.graphql("Counts", COUNTS, {"owner": owner, "name": name})
            repository = repository_of(data, repo, self.name)
            counts["pull_requests"] += int(repository["pullRequests"]["totalCount"])
            counts["deployments"] += int(repository["deployments"]["totalCount"])
            if self.config.workflow_runs:
                runs = self.api.get_json(f"repos/{repo}/actions/runs", {"per_page": 1})
                counts["workflow_runs"] += int(runs["total_count"])
        return counts


def build(config: Config, ctx: SourceContext) -> GitHubSource:
    """Build the GitHub source from its app.yaml section."""
    return GitHubSource(config, ctx)
