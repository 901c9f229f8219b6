"""The GitHub client of the github source: REST (conditional, paged) and GraphQL on one token.

GitHub.com answers REST at ``https://api.github.com`` and GraphQL at ``/graphql`` beside it;
GitHub Enterprise Server answers REST at ``https://HOST/api/v3`` and GraphQL at
``https://HOST/api/graphql``. GraphQL reports errors inside a 200 answer ("Rate limits and query
limits for the GraphQL API"): a primary limit is a ``RATE_LIMITED`` error with
``X-RateLimit-Remaining: 0`` (wait for ``X-RateLimit-Reset``), a secondary limit an error whose
message says so (wait ``Retry-After``, else a minute, doubling); both are retried a few times. A
secondary limit may also come as a 403, which the shared client waits out like a REST one. Any
other error stops the sync with the vendor's message, and a missing scope also names the scopes the
token has (``X-OAuth-Scopes``). A refused REST request names the repository. The cost of every
query (``rateLimit { cost }``) is added up for the benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from integrations._rest import RestApi
from integrations.base import SourceError
from integrations.http import HttpClient, mentions_rate_limit

API_VERSION = "2022-11-28"
RATE_LIMITED_RETRIES = 3
REPOSITORY_PATH = re.compile(r"(?:^|/)repos/([^/]+/[^/]+)")
SCOPE_ERRORS = frozenset({"INSUFFICIENT_SCOPES", "FORBIDDEN"})


def repository_of(path: str) -> str:
    """What a refused request names: "repository owner/name" under ``repos/``, else the path."""
    match = REPOSITORY_PATH.search(urlsplit(path).path)
    return f"repository {match[1]}" if match else path


def graphql_url(api_url: str) -> str:
    """The GraphQL endpoint beside a REST base URL (github.com or GHES ``/api/v3``)."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base.removesuffix("/v3") + "/graphql"
    return base + "/graphql"


class GitHubApi(RestApi):
    """REST and GraphQL calls of one github source."""

    def __init__(
        self,
        source: str,
        api_url: str,
        token: str,
        *,
        graphql: str | None,
        timeout: float,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        super().__init__(
            HttpClient(
                source_name=source,
                base_url=api_url,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                },
                timeout=timeout,
                name_resource=repository_of,
                sleep=sleep,
                clock=lambda: now().timestamp(),
            )
        )
        endpoint = graphql or graphql_url(api_url)
        self.graphql_path = endpoint.removeprefix(self.http.base_url + "/")
        self.graphql_cost = 0
        self.graphql_calls = 0

    def graphql(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run ``query`` and return its ``data``; rate-limit errors wait, others raise."""
        body = {"query": query, "variables": variables, "operationName": operation}
        for attempt in range(RATE_LIMITED_RETRIES + 1):
            response = self.http.request("POST", self.graphql_path, json=body)
            self.graphql_calls += 1
            answer = self.decode(response, f"GraphQL {operation}")
            if not isinstance(answer, dict):
                raise SourceError(f"{self.source}: GraphQL {operation} answered {answer!r:.200}")
            errors = answer.get("errors") or []
            if errors and attempt < RATE_LIMITED_RETRIES and _rate_limited(errors):
                wait = self.http.rate_limit_wait(response.headers, attempt)
                self.http.wait_out(wait, f"GraphQL {operation}")
                continue
            if errors:
                granted = response.headers.get("X-OAuth-Scopes")
                raise SourceError(_describe_errors(self.source, operation, errors, granted))
            self._pause_if_spent(response)
            data = answer.get("data")
            if not isinstance(data, dict):
                raise SourceError(f"{self.source}: GraphQL {operation} answered without data")
            self.graphql_cost += int((data.get("rateLimit") or {}).get("cost") or 0)
            return data
        raise SourceError(f"{self.source}: GraphQL {operation} stayed rate limited; try later")


def _rate_limited(errors: list[Any]) -> bool:
    return any(
        isinstance(e, dict)
        and (e.get("type") == "RATE_LIMITED" or mentions_rate_limit(str(e.get("message", ""))))
        for e in errors
    )


def _describe_errors(
    source: str, operation: str, errors: list[Any], granted_scopes: str | None
) -> str:
    messages = "; ".join(
        str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:3]
    )
    types = {e.get("type") for e in errors if isinstance(e, dict)}
    if "NOT_FOUND" in types:
        hint = "check the repository names in app.yaml and that the token can read them"
    elif types & SCOPE_ERRORS:
        hint = (
            f"the token (scopes: {(granted_scopes or 'none stated')[:200]}) lacks a scope or "
            "permission the query needs"
        )
    else:
        hint = "the sync stops and resumes from its last stored page next time"
    return f"{source}: GraphQL {operation} failed: {messages}; {hint}"
