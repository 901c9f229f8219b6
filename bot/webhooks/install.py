"""``vsm webhooks --install``: register a source's webhook through the vendor's API, idempotently.

With the source's own token, each GitHub repository or GitLab project lists its hooks first; the
one already posting to our URL is updated (events, secret), else one is created. So running it
again, or after the secret changed, leaves one hook per repository.

- GitHub: ``GET/POST /repos/{owner}/{repo}/hooks``, ``PATCH .../hooks/{id}`` ("REST API endpoints
  for repository webhooks"); ``config`` holds the URL, ``content_type: json`` and the secret.
  It needs admin access to the repository and a classic token with the ``admin:repo_hook`` scope
  (or ``repo``) or a fine-grained one with the "Webhooks" repository permission (write); without
  them GitHub answers 404 (or 403).
- GitLab: ``GET/POST /projects/:id/hooks``, ``PUT .../hooks/:hook_id`` ("Project webhooks API"),
  with the ``*_events`` flags and ``token`` (the secret GitLab sends as ``X-Gitlab-Token``). It
  needs the Maintainer role on the project and a token with the ``api`` scope (``read_api``
  cannot write); GitLab answers 403 without them, 404 for a project the token cannot see.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.redact import redact
from bot.webhooks.setup import GITLAB_FLAGS, WebhookSetup
from integrations import github, gitlab
from integrations._github_api import GitHubApi
from integrations.base import SourceError
from integrations.http import HttpClient

GITHUB_PERMISSION = (
    "GitHub answered {status} on the hooks of {target}: the token cannot manage its webhooks. "
    "Creating one needs admin access to the repository and a classic token with the "
    "admin:repo_hook scope, or a fine-grained token with the Webhooks repository permission "
    "(read and write); or add the webhook by hand"
)
GITLAB_PERMISSION = (
    "GitLab answered 403 on the hooks of {target}: managing webhooks needs the Maintainer role "
    "on the project and a token with the api scope (read_api cannot write); or add the webhook "
    "by hand"
)
GITLAB_NOT_FOUND = (
    "GitLab answered 404 on the hooks of {target}: the token cannot see the project; check its "
    "path in app.yaml and that the token's user is a member"
)


@dataclass(frozen=True)
class Installed:
    """What ``--install`` did for one repository or project."""

    target: str
    action: Literal["created", "updated"] | None
    problem: str | None = None
    """Why it could not (None when it did)."""


def install(
    setup: WebhookSetup,
    clock: Callable[[], datetime],
    done: set[tuple[str, str, str]],
    sleep: Callable[[float], None] = time.sleep,
) -> list[Installed]:
    """Register ``setup``'s webhook at each repository or project of its GitHub/GitLab source.

    ``done`` holds the (API, repository or project, URL) already registered in this run (two
    teams may share a source name and a repository); each registered here is added.
    """
    config, secret = setup.config, setup.secret
    if secret is None:
        raise ValueError(f"{setup.key} has no webhook_secret")
    if isinstance(config, github.Config):
        api = GitHubApi(
            config.display_name(),
            config.api_url,
            config.token.get_secret_value(),
            graphql=config.graphql_url,
            timeout=config.timeout,
            now=clock,
            sleep=sleep,
        )
        body = {
            "name": "web",
            "active": True,
            "events": list(setup.events),
            "config": {"url": setup.url, "content_type": "json", "secret": secret},
        }
        return [
            _install_one(api.http, f"repos/{repo}/hooks", repo, setup.url, body, "PATCH", _github)
            for repo in _not_done(done, config.api_url, config.repos, setup.url)
        ]
    if isinstance(config, gitlab.Config):
        http = HttpClient(
            source_name=config.display_name(),
            base_url=config.api_url,
            headers={"PRIVATE-TOKEN": config.token.get_secret_value()},
            timeout=config.timeout,
            sleep=sleep,
            clock=lambda: clock().timestamp(),
        )
        flags = {flag: name in setup.events for name, flag in GITLAB_FLAGS.items()}
        body = {
            "url": setup.url,
            "token": secret,
            "push_events": False,
            "enable_ssl_verification": True,
            **flags,
        }
        return [
            _install_one(
                http,
                f"{gitlab.project_path(project)}/hooks",
                project,
                setup.url,
                body,
                "PUT",
                _gitlab,
            )
            for project in _not_done(done, config.api_url, config.projects, setup.url)
        ]
    raise ValueError(f"{config.type} webhooks are registered by hand")


def _install_one(
    http: HttpClient,
    hooks: str,
    target: str,
    url: str,
    body: dict[str, Any],
    update: str,
    explain: Callable[[SourceError, str], str],
) -> Installed:
    """List ``hooks``, then update the one posting to ``url`` (with ``update``) or create one."""
    try:
        existing = _hook_with_url(http.get_json(hooks, {"per_page": 100}), url)
        if existing is None:
            http.post_json(hooks, body)
            return Installed(target, "created")
        http.request(update, f"{hooks}/{existing}", json=body)
        return Installed(target, "updated")
    except SourceError as exc:
        return Installed(target, None, explain(exc, target))


def _hook_with_url(hooks: Any, url: str) -> int | None:
    """The id of the hook posting to ``url`` (GitHub keeps it in ``config``), if any."""
    for hook in hooks if isinstance(hooks, list) else []:
        if not isinstance(hook, dict):
            continue
        config = hook.get("config")
        posts_to = config.get("url") if isinstance(config, dict) else hook.get("url")
        if posts_to == url and isinstance(hook.get("id"), int):
            return int(hook["id"])
    return None


def _github(exc: SourceError, target: str) -> str:
    if exc.status in (403, 404):
        return GITHUB_PERMISSION.format(status=exc.status, target=target)
    return redact(str(exc))


def _gitlab(exc: SourceError, target: str) -> str:
    if exc.status == 403:
        return GITLAB_PERMISSION.format(target=target)
    if exc.status == 404:
        return GITLAB_NOT_FOUND.format(target=target)
    return redact(str(exc))


def _not_done(
    done: set[tuple[str, str, str]], api: str, targets: Sequence[str], url: str
) -> list[str]:
    """The ``targets`` not yet registered with ``url`` in this run, now counted as done."""
    todo = [target for target in targets if (api, target, url) not in done]
    done.update((api, target, url) for target in todo)
    return todo
