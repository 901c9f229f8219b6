"""The GitHub client of the github source: REST (conditional, paged) and GraphQL on one token.

GitHub.com answers REST at ``https://api.github.com`` and GraphQL at ``/graphql`` beside it;
GitHub Enterprise Server answers REST at ``https://HOST/api/v3`` and GraphQL at
``https://HOST/api/graphql``. GraphQL reports errors inside a 200 answer: a ``RATE_LIMITED`` error
waits for the reset (``X-RateLimit-Reset``) and retries, any other error stops the sync with the
vendor's message. The cost of every query (``rateLimit { cost }``) is added up for the benchmark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from integrations._rest import RestApi
from integrations.base import SourceError
from integrations.http import HttpClient

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
RATE_LIMITED_RETRIES = 3


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
            response = self.post(self.graphql_path, body)
            self.graphql_calls += 1
            answer = self.decode(response, f"GraphQL {operation}")
            if not isinstance(answer, dict):
                raise SourceError(f"{self.source}: GraphQL {operation} answered {answer!r:.200}")
            errors = answer.get("errors") or []
            if errors and attempt < RATE_LIMITED_RETRIES and _rate_limited(errors):
                self._wait_for_reset(response.headers.get("X-RateLimit-Reset"))
                continue
            if errors:
                raise SourceError(_describe_errors(self.source, operation, errors))
            data = answer.get("data")
            if not isinstance(data, dict):
                raise SourceError(f"{self.source}: GraphQL {operation} answered without data")
            self.graphql_cost += int((data.get("rateLimit") or {}).get("cost") or 0)
            return data
        raise SourceError(f"{self.source}: GraphQL {operation} stayed rate limited; try later")

    def _wait_for_reset(self, reset: str | None) -> None:
        wait = float(reset) - self.http.clock() if reset and reset.isdigit() else 60.0
        if wait > self.http.max_rate_limit_wait:
            raise SourceError(
                f"{self.source}: the GraphQL rate limit resets in {wait:.0f}s, longer than the "
                f"{self.http.max_rate_limit_wait:.0f}s allowed; the sync resumes next time"
            )
        wait = max(1.0, wait)
        log.warning("%s: GraphQL rate limited, waiting %.0fs", self.source, wait)
        self.http.stats.rate_limit_wait_seconds += wait
        self.http.sleep(wait)


def _rate_limited(errors: list[Any]) -> bool:
    return any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors)


def _describe_errors(source: str, operation: str, errors: list[Any]) -> str:
    messages = "; ".join(
        str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:3]
    )
    hint = (
        "check the repository names in app.yaml and that the token can read them"
        if any(isinstance(e, dict) and e.get("type") == "NOT_FOUND" for e in errors)
        else "the sync stops and resumes from its last stored page next time"
    )
    return f"{source}: GraphQL {operation} failed: {messages}; {hint}"
