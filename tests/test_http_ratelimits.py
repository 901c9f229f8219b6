"""Rate limit or refusal: how the HTTP and GitHub clients read 403s, 429s and GraphQL errors.

They run against the scripted loopback server of test_http.

GitHub's documented rules ("Troubleshooting the REST API", "Rate limits and query limits for the
GraphQL API"): a primary limit answers 403/429 (GraphQL: 200) with ``x-ratelimit-remaining: 0``,
wait until ``x-ratelimit-reset`` (UTC epoch seconds); a secondary limit answers 403/429 (GraphQL:
200 or 403) with a message saying so, wait ``retry-after`` seconds when sent, else at least a
minute, growing exponentially. Any other 403 is a refusal: report it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from integrations._github_api import GitHubApi
from integrations._rest import RestApi
from integrations.base import SourceError
from tests.test_http import NOW, Reply, Script, Sleeps, client

TOKEN = "ghp-s3cret-token"
SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}
PLENTY_LEFT = {"X-RateLimit-Remaining": "4990", "X-RateLimit-Reset": str(int(NOW) + 299)}


@pytest.fixture
def server() -> Iterator[Script]:
    script = Script()
    yield script
    script.close()


def github(url: str, sleeps: Sleeps) -> GitHubApi:
    return GitHubApi(
        "acme/github",
        url,
        TOKEN,
        graphql=None,
        timeout=5.0,
        now=lambda: datetime.fromtimestamp(NOW, UTC),
        sleep=sleeps,
    )


# -- GitHub REST: a 403 is a refusal unless GitHub says it is a limit -----------------------------


def test_a_permission_403_with_requests_left_fails_at_once_naming_repo_and_scope(
    server: Script,
) -> None:
    server.replies = [
        Reply(
            403,
            {"message": "Resource not accessible by personal access token"},
            {
                **PLENTY_LEFT,
                "X-OAuth-Scopes": "read:org, workflow",
                "X-Accepted-OAuth-Scopes": "repo",
            },
        )
    ]
    sleeps = Sleeps()
    api = github(server.url, sleeps)

    with pytest.raises(SourceError) as info:
        api.get("repos/acme/api/pulls", {"per_page": 100})

    message = str(info.value)
    assert sleeps == [] and len(server.seen) == 1
    assert info.value.status == 403
    assert "repository acme/api" in message
    assert "accepts repo" in message and "read:org, workflow" in message
    assert "rate limited" not in message and TOKEN not in message


def test_a_fine_grained_token_is_told_which_permissions_the_endpoint_accepts(
    server: Script,
) -> None:
    accepted = "pull_requests=read,contents=read; issues=read,contents=read"
    server.replies = [
        Reply(
            403,
            {"message": "Resource not accessible by personal access token"},
            {**PLENTY_LEFT, "X-Accepted-GitHub-Permissions": accepted},
        )
    ]
    sleeps = Sleeps()

    with pytest.raises(SourceError) as info:
        github(server.url, sleeps).get("repos/acme/api/commits/abc/pulls")

    message = str(info.value)
    assert sleeps == []
    assert "repository acme/api" in message
    assert "pull_requests=read,contents=read or issues=read,contents=read" in message


def test_a_token_holding_an_accepted_scope_points_at_the_owners_access(server: Script) -> None:
    server.replies = [
        Reply(
            403,
            {"message": "Must have admin rights to Repository."},
            {"X-OAuth-Scopes": "repo, read:org", "X-Accepted-OAuth-Scopes": "repo"},
        )
    ]
    with pytest.raises(SourceError) as info:
        github(server.url, Sleeps()).get("repos/acme/api/deployments")
    assert "has the repo scope" in str(info.value)
    assert "access to repository acme/api" in str(info.value)


def test_a_403_naming_no_scope_still_fails_at_once(server: Script) -> None:
    server.replies = [Reply(403, {"message": "Forbidden"}, PLENTY_LEFT)]
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="lack permission for repository acme/api"):
        github(server.url, sleeps).get("repos/acme/api/issues")
    assert sleeps == [] and len(server.seen) == 1


def test_a_secondary_limit_without_retry_after_waits_a_minute_not_the_hourly_reset(
    server: Script,
) -> None:
    server.replies = [Reply(403, SECONDARY, PLENTY_LEFT), Reply(200, [])]
    sleeps = Sleeps()
    response = github(server.url, sleeps).get("repos/acme/api/pulls")
    assert response.status_code == 200
    assert sleeps == [60.0]


def test_a_secondary_limit_that_persists_waits_exponentially_longer(server: Script) -> None:
    server.replies = [Reply(403, SECONDARY, PLENTY_LEFT)] * 3 + [Reply(200, [])]
    sleeps = Sleeps()
    github(server.url, sleeps).get("repos/acme/api/pulls")
    assert sleeps == [60.0, 120.0, 240.0]


def test_exponential_waits_stop_at_the_longest_wait_allowed(server: Script) -> None:
    server.replies = [Reply(429)] * 4
    sleeps = Sleeps()
    client(server.url, sleeps, max_rate_limit_wait=200).get_json("/x")
    assert sleeps == [60.0, 120.0, 200.0, 200.0]


def test_a_secondary_429_waits_a_minute_not_the_primary_reset(server: Script) -> None:
    reset = str(int(NOW) + 3000)  # the primary window's reset: not what limited us
    server.replies = [
        Reply(429, SECONDARY, {"X-RateLimit-Remaining": "4000", "X-RateLimit-Reset": reset})
    ]
    sleeps = Sleeps()
    client(server.url, sleeps).get_json("/x")
    assert sleeps == [60.0]


def test_a_primary_limit_403_waits_for_the_reset(server: Script) -> None:
    server.replies = [
        Reply(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 45)},
        )
    ]
    sleeps = Sleeps()
    github(server.url, sleeps).get("repos/acme/api/pulls")
    assert sleeps == [45.0]


def test_retry_after_zero_means_retry_now(server: Script) -> None:
    server.replies = [Reply(429, headers={"Retry-After": "0"}), Reply(200, {"n": 2})]
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    assert http.get_json("/x") == {"n": 2}
    assert sleeps == [0.0]
    assert http.stats.retries == 1


def test_retry_after_on_a_403_wins_over_everything(server: Script) -> None:
    server.replies = [Reply(403, {"message": "slow down"}, {**PLENTY_LEFT, "Retry-After": "9"})]
    sleeps = Sleeps()
    github(server.url, sleeps).get("repos/acme/api/pulls")
    assert sleeps == [9.0]


# -- PagerDuty: ratelimit-reset counts seconds ------------------------------------------------


def pagerduty_client(url: str, sleeps: Sleeps):
    return client(url, sleeps, reset_counts_seconds=True)


def test_a_pagerduty_429_waits_the_seconds_its_reset_header_sends(server: Script) -> None:
    server.replies = [
        Reply(
            429,
            {"error": {"message": "Rate Limit Exceeded"}},
            {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "12"},
        )
    ]
    sleeps = Sleeps()
    pagerduty_client(server.url, sleeps).get_json("/incidents")
    assert sleeps == [12.0]


def test_a_spent_pagerduty_budget_pauses_for_the_reset_seconds(server: Script) -> None:
    server.replies = [
        Reply(200, {"incidents": []}, {"ratelimit-remaining": "0", "ratelimit-reset": "7"})
    ]
    sleeps = Sleeps()
    RestApi(pagerduty_client(server.url, sleeps)).get_json("incidents")
    assert sleeps == [7.0]


def test_budget_left_means_no_pause(server: Script) -> None:
    server.replies = [
        Reply(200, {"incidents": []}, {"ratelimit-remaining": "3", "ratelimit-reset": "7"})
    ]
    sleeps = Sleeps()
    RestApi(pagerduty_client(server.url, sleeps)).get_json("incidents")
    assert sleeps == []


def test_gitlab_reset_stays_a_unix_time(server: Script) -> None:
    reset = str(int(NOW) + 25)
    server.replies = [Reply(200, [], {"RateLimit-Remaining": "0", "RateLimit-Reset": reset})]
    sleeps = Sleeps()
    RestApi(client(server.url, sleeps)).get_json("projects/1/merge_requests")
    assert sleeps == [25.0]


# -- GitHub GraphQL ---------------------------------------------------------------------------


def test_a_graphql_primary_limit_waits_for_the_reset_once(server: Script) -> None:
    server.replies = [
        Reply(
            200,
            {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)},
        ),
        Reply(200, {"data": {"viewer": {"login": "bot"}}}),
    ]
    sleeps = Sleeps()
    assert github(server.url, sleeps).graphql("Q", "query Q { viewer { login } }", {}) == {
        "viewer": {"login": "bot"}
    }
    assert sleeps == [30.0]


def test_a_graphql_secondary_limit_in_a_200_waits_a_minute(server: Script) -> None:
    server.replies = [
        Reply(200, {"errors": [{"message": SECONDARY["message"]}]}, PLENTY_LEFT),
        Reply(200, {"data": {"viewer": {"login": "bot"}}}),
    ]
    sleeps = Sleeps()
    github(server.url, sleeps).graphql("Q", "query Q { viewer { login } }", {})
    assert sleeps == [60.0]


def test_a_graphql_secondary_limit_403_is_waited_out(server: Script) -> None:
    server.replies = [
        Reply(403, SECONDARY, {"Retry-After": "5"}),
        Reply(200, {"data": {"viewer": {"login": "bot"}}}),
    ]
    sleeps = Sleeps()
    github(server.url, sleeps).graphql("Q", "query Q { viewer { login } }", {})
    assert sleeps == [5.0]


def test_a_graphql_403_refusal_fails_at_once(server: Script) -> None:
    server.replies = [
        Reply(
            403,
            {"message": "Resource not accessible by integration"},
            {**PLENTY_LEFT, "X-Accepted-GitHub-Permissions": "pull_requests=read"},
        )
    ]
    sleeps = Sleeps()
    with pytest.raises(SourceError, match="pull_requests=read") as info:
        github(server.url, sleeps).graphql("Q", "query Q { viewer { login } }", {})
    assert sleeps == [] and TOKEN not in str(info.value)


def test_graphql_missing_scopes_are_reported_with_the_granted_ones(server: Script) -> None:
    error = {
        "type": "INSUFFICIENT_SCOPES",
        "message": "Your token has not been granted the required scopes to execute this query.",
    }
    server.replies = [Reply(200, {"errors": [error]}, {"X-OAuth-Scopes": "read:org"})]
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        github(server.url, sleeps).graphql("Q", "query Q { viewer { login } }", {})
    assert sleeps == []
    assert "required scopes" in str(info.value) and "read:org" in str(info.value)
