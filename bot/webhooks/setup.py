"""What to register at each vendor so its webhooks reach ``vsm serve``: URL, events, secret.

Each configured source of a type with webhooks (:data:`VENDORS`) gets ``<base URL>/webhooks/
<source name>``, the vendor's names for the events that change what the source pulls (a GitHub
source without ``incident_label`` needs no ``issues``), and the environment variable its
``webhook_secret`` is read from, as app.yaml writes it (``${GITHUB_WEBHOOK_SECRET}``). The event
names are the vendors' own: GitHub "Webhook events and payloads", GitLab "Webhook events" (and the
``*_events`` flags of its project hooks API), Jira "Webhooks" (``jira:issue_updated``...),
PagerDuty "V3 webhook event types" (``incident.triggered``...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.config import ENV_PATTERN, AppConfig, TeamConfig
from bot.sync import source_key
from integrations import github, gitlab, pagerduty
from integrations.base import SourceConfig
from integrations.jira import config as jira
from storage.webhooks import WebhookHealth

PUBLIC_URL_VARIABLE = "VSM_PUBLIC_URL"
GITLAB_FLAGS = {
    "Merge request events": "merge_requests_events",
    "Pipeline events": "pipeline_events",
    "Deployment events": "deployment_events",
    "Issues events": "issues_events",
}
"""GitLab's event names in its webhook settings, and the project hooks API flag of each."""
JIRA_VERSION_EVENTS = (
    "jira:version_created",
    "jira:version_updated",
    "jira:version_released",
    "jira:version_unreleased",
    "jira:version_deleted",
)
"""A fix version's changes (its release date: a release scope's target), from Jira's webhooks
(https://developer.atlassian.com/cloud/jira/platform/webhooks)."""


@dataclass(frozen=True)
class Vendor:
    """How one vendor's webhooks are registered."""

    where: str
    """Where a person registers the webhook by hand."""
    installable: bool
    """Whether ``vsm webhooks --install`` registers it through the vendor's API."""


VENDORS = {
    "github": Vendor(
        "each repository's Settings > Webhooks > Add webhook: Payload URL, content type "
        "application/json, Secret = the variable's value, 'Let me select individual events'",
        installable=True,
    ),
    "gitlab": Vendor(
        "each project's Settings > Webhooks > Add new webhook: URL, Secret token = the "
        "variable's value, the trigger events listed",
        installable=True,
    ),
    "jira": Vendor(
        "Jira settings > System > WebHooks > Create a WebHook (a Jira administrator): URL, "
        "Secret = the variable's value, the issue events listed, JQL = the source's project "
        "(a Data Center version that signs nothing: append ?secret=<the value> to the URL)",
        installable=False,
    ),
    "pagerduty": Vendor(
        "Integrations > Generic Webhooks (v3) > New Webhook, scoped to the source's services: "
        "URL, the events listed; PagerDuty shows the signing secret once: put it in the variable",
        installable=False,
    ),
}
"""The source types with webhooks."""


def events_of(config: SourceConfig) -> tuple[str, ...]:
    """The vendor's events that announce a change this source pulls (empty: no webhooks)."""
    if isinstance(config, github.Config):
        return (
            "pull_request",
            "pull_request_review",
            "deployment",
            "deployment_status",
            "milestone",
            *(("workflow_run",) if config.workflow_runs else ()),
            *(("issues",) if config.incident_label else ()),
        )
    if isinstance(config, gitlab.Config):
        incidents = config.native_incidents or config.incident_label
        return (
            "Merge request events",
            *(("Pipeline events",) if config.pipelines else ()),
            "Deployment events",
            *(("Issues events",) if incidents else ()),
        )
    if isinstance(config, jira.Config):
        return (
            "jira:issue_created",
            "jira:issue_updated",
            "jira:issue_deleted",
            *JIRA_VERSION_EVENTS,
        )
    if isinstance(config, pagerduty.Config):
        return (
            "incident.triggered",
            "incident.acknowledged",
            "incident.unacknowledged",
            "incident.reopened",
            "incident.resolved",
        )
    return ()


def webhook_url(base_url: str, config: SourceConfig) -> str:
    """Where the vendor posts this source's webhooks."""
    return f"{base_url.rstrip('/')}/webhooks/{quote(config.display_name(), safe='')}"


def suggested_variable(config: SourceConfig) -> str:
    """A name for the secret's environment variable: ``GITHUB_WEBHOOK_SECRET``."""
    stem = re.sub(r"[^A-Z0-9]+", "_", config.display_name().upper()).strip("_") or "SOURCE"
    return f"{stem}_WEBHOOK_SECRET"


def written_secrets(raw: Any) -> dict[tuple[int, int], str]:
    """Each source's ``webhook_secret`` as app.yaml writes it, by (team, source) position.

    ``raw`` is app.yaml parsed but not expanded (:func:`bot.config.read_yaml`), so a secret taken
    from the environment reads ``${NAME}``; anything else is skipped.
    """
    teams = raw.get("teams") if isinstance(raw, dict) else None
    written = {}
    for t_index, team in enumerate(teams if isinstance(teams, list) else []):
        sources = team.get("sources") if isinstance(team, dict) else None
        for s_index, source in enumerate(sources if isinstance(sources, list) else []):
            secret = source.get("webhook_secret") if isinstance(source, dict) else None
            if isinstance(secret, str):
                written[(t_index, s_index)] = secret
    return written


def secret_variables(written: str | None) -> tuple[str, ...]:
    """The environment variables named in a written ``webhook_secret``."""
    return tuple(match.group(1) for match in ENV_PATTERN.finditer(written or ""))


@dataclass(frozen=True)
class WebhookSetup:
    """What to register at the vendor for one team's source."""

    team: TeamConfig
    config: SourceConfig
    key: str
    url: str
    events: tuple[str, ...]
    variables: tuple[str, ...]
    """The environment variables its ``webhook_secret`` is read from (empty: none)."""
    written: str | None
    """The ``webhook_secret`` as app.yaml writes it (None: not set)."""

    @property
    def vendor(self) -> Vendor:
        return VENDORS[self.config.type]

    @property
    def secret(self) -> str | None:
        """The secret's value, once app.yaml and the environment give it one."""
        secret = self.config.webhook_secret
        return None if secret is None else secret.get_secret_value()


def webhook_setups(
    config: AppConfig, raw: Any, base_url: str, team_name: str | None = None
) -> list[WebhookSetup]:
    """The setup of every source with webhooks (of every team, or of the named one)."""
    written = written_secrets(raw)
    setups = []
    for t_index, team in enumerate(config.teams):
        if team_name is not None and team.name != team_name:
            continue
        for s_index, source in enumerate(team.source_configs()):
            if source.type not in VENDORS:
                continue
            text = written.get((t_index, s_index))
            setups.append(
                WebhookSetup(
                    team,
                    source,
                    source_key(team, source),
                    webhook_url(base_url, source),
                    events_of(source),
                    secret_variables(text),
                    text,
                )
            )
    return setups


def team_webhooks(
    team: TeamConfig, health: Mapping[str, WebhookHealth]
) -> dict[str, WebhookHealth | None]:
    """The webhook health of each of the team's sources that has webhooks, by source key.

    A source has webhooks when it has a ``webhook_secret``; None: no webhook received yet.
    """
    return {
        key: health.get(key)
        for source in team.source_configs()
        if source.webhook_secret is not None
        for key in [source_key(team, source)]
    }
