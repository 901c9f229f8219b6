"""Each vendor's webhook contract (bot.webhooks.verify), with signatures computed here.

Payloads have the vendors' recorded shapes (trimmed); every signature is an HMAC-SHA256 of the
exact bytes sent, as the vendors document it.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.webhooks.verify import Delivery, verify

SECRET = "It's a Secret to Everybody"
GITHUB_BODY = json.dumps({"action": "opened", "pull_request": {"number": 7}}).encode()
GITLAB_BODY = json.dumps({"object_kind": "merge_request", "object_attributes": {"iid": 3}}).encode()
PAGERDUTY_BODY = json.dumps(
    {
        "event": {
            "id": "01DEN9PQ6F4GXXV1VVGCG2QF0S",
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2026-11-25T15:59:58.000Z",
            "data": {"id": "PGR0VU2", "type": "incident"},
        }
    }
).encode()
JIRA_BODY = json.dumps(
    {"timestamp": 1764086398000, "webhookEvent": "jira:issue_updated", "issue": {"key": "PAY-12"}}
).encode()


def hex_hmac(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": f"sha256={hex_hmac(body, secret)}",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Event": "pull_request",
    }


def test_github_known_vector_from_its_documentation() -> None:
    # docs.github.com "Testing the webhook payload validation": secret, payload and signature.
    headers = {
        "X-Hub-Signature-256": (
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        ),
        "X-GitHub-Delivery": "d1",
        "X-GitHub-Event": "ping",
    }

    assert verify("github", headers, b"Hello, World!", SECRET, {}) == Delivery("d1", "ping")


def test_github_good_signature_gives_the_delivery_and_event() -> None:
    headers = github_headers(GITHUB_BODY)

    delivery = verify("github", headers, GITHUB_BODY, SECRET, {})

    assert delivery == Delivery("72d3162e-cc78-11e3-81ab-4c9367dc0958", "pull_request")


def test_header_names_match_in_any_case() -> None:
    headers = {k.lower(): v for k, v in github_headers(GITHUB_BODY).items()}

    assert verify("github", headers, GITHUB_BODY, SECRET, {}) is not None


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,  # wrong digest
        hex_hmac(GITHUB_BODY),  # no sha256= prefix
        "sha1=" + hex_hmac(GITHUB_BODY),  # another algorithm's prefix
        "sha256=",  # empty
        "sha256=zz\u00e9",  # not hex, not ASCII
    ],
)
def test_github_refuses_a_bad_or_malformed_signature(signature: str) -> None:
    headers = {**github_headers(GITHUB_BODY), "X-Hub-Signature-256": signature}

    assert verify("github", headers, GITHUB_BODY, SECRET, {}) is None


def test_github_refuses_a_missing_signature_and_another_secret() -> None:
    headers = github_headers(GITHUB_BODY)
    del headers["X-Hub-Signature-256"]

    assert verify("github", headers, GITHUB_BODY, SECRET, {}) is None
    assert verify("github", github_headers(GITHUB_BODY, "other"), GITHUB_BODY, SECRET, {}) is None


def test_github_refuses_a_body_changed_after_signing() -> None:
    headers = github_headers(GITHUB_BODY)

    assert verify("github", headers, GITHUB_BODY + b" ", SECRET, {}) is None


def test_gitlab_token_and_idempotency_key() -> None:
    headers = {
        "X-Gitlab-Token": SECRET,
        "X-Gitlab-Event": "Merge Request Hook",
        "Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
    }

    delivery = verify("gitlab", headers, GITLAB_BODY, SECRET, {})

    assert delivery == Delivery("f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "Merge Request Hook")


def test_gitlab_before_17_4_is_named_by_its_body() -> None:
    headers = {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"}

    delivery = verify("gitlab", headers, GITLAB_BODY, SECRET, {})

    assert delivery == Delivery(hashlib.sha256(GITLAB_BODY).hexdigest(), "Push Hook")


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + " ", SECRET[:-1]])
def test_gitlab_refuses_a_wrong_or_missing_token(token: str | None) -> None:
    headers = {"X-Gitlab-Event": "Push Hook"}
    if token is not None:
        headers["X-Gitlab-Token"] = token

    assert verify("gitlab", headers, GITLAB_BODY, SECRET, {}) is None


def test_pagerduty_one_of_several_signatures_is_enough() -> None:
    # During a secret rotation PagerDuty signs with each secret, comma-separated.
    signatures = f"v1={hex_hmac(PAGERDUTY_BODY, 'old secret')},v1={hex_hmac(PAGERDUTY_BODY)}"
    headers = {"X-PagerDuty-Signature": signatures, "X-Webhook-Id": "wh-1"}

    delivery = verify("pagerduty", headers, PAGERDUTY_BODY, SECRET, {})

    assert delivery == Delivery("wh-1", "incident.triggered")


def test_pagerduty_without_a_webhook_id_is_named_by_its_event_id() -> None:
    headers = {"X-PagerDuty-Signature": f"v1={hex_hmac(PAGERDUTY_BODY)}"}

    delivery = verify("pagerduty", headers, PAGERDUTY_BODY, SECRET, {})

    assert delivery == Delivery("01DEN9PQ6F4GXXV1VVGCG2QF0S", "incident.triggered")


@pytest.mark.parametrize(
    "signature",
    [None, "", "v1=" + "0" * 64, hex_hmac(PAGERDUTY_BODY), "v0=" + hex_hmac(PAGERDUTY_BODY)],
)
def test_pagerduty_refuses_a_bad_or_missing_signature(signature: str | None) -> None:
    headers = {} if signature is None else {"X-PagerDuty-Signature": signature}

    assert verify("pagerduty", headers, PAGERDUTY_BODY, SECRET, {}) is None


def test_pagerduty_signed_body_that_is_not_json_is_still_a_hint() -> None:
    body = b"not json {"
    headers = {"X-PagerDuty-Signature": f"v1={hex_hmac(body)}"}

    delivery = verify("pagerduty", headers, body, SECRET, {})

    assert delivery == Delivery(hashlib.sha256(body).hexdigest(), "unknown")


def test_jira_cloud_signature_and_identifier() -> None:
    headers = {
        "X-Hub-Signature": f"sha256={hex_hmac(JIRA_BODY)}",
        "X-Atlassian-Webhook-Identifier": "9f0a8c6e-jira",
    }

    delivery = verify("jira", headers, JIRA_BODY, SECRET, {})

    assert delivery == Delivery("9f0a8c6e-jira", "jira:issue_updated")


def test_jira_refuses_a_bad_signature_even_with_the_secret_in_the_query() -> None:
    headers = {"X-Hub-Signature": "sha256=" + "0" * 64}

    assert verify("jira", headers, JIRA_BODY, SECRET, {"secret": SECRET}) is None


def test_jira_data_center_unsigned_falls_back_on_the_secret_in_the_url() -> None:
    delivery = verify("jira", {}, JIRA_BODY, SECRET, {"secret": SECRET})

    assert delivery == Delivery(hashlib.sha256(JIRA_BODY).hexdigest(), "jira:issue_updated")


@pytest.mark.parametrize("query", [{}, {"secret": ""}, {"secret": "guess"}, {"token": SECRET}])
def test_jira_unsigned_without_the_right_secret_in_the_url_is_refused(
    query: dict[str, str],
) -> None:
    assert verify("jira", {}, JIRA_BODY, SECRET, query) is None


def test_other_vendors_never_read_the_query() -> None:
    assert verify("gitlab", {}, GITLAB_BODY, SECRET, {"secret": SECRET}) is None
    assert verify("github", {}, GITHUB_BODY, SECRET, {"secret": SECRET}) is None


def test_a_source_type_without_webhooks_or_an_empty_secret_refuses() -> None:
    assert verify("csv", {"X-Gitlab-Token": SECRET}, b"", SECRET, {}) is None
    assert verify("gitlab", {"X-Gitlab-Token": ""}, b"", "", {}) is None


def test_a_long_or_unprintable_delivery_id_is_stored_hashed() -> None:
    long_id = "x" * 5000
    headers = {"X-Gitlab-Token": SECRET, "Idempotency-Key": long_id, "X-Gitlab-Event": "a\nb"}

    delivery = verify("gitlab", headers, GITLAB_BODY, SECRET, {})

    assert delivery == Delivery(hashlib.sha256(long_id.encode()).hexdigest(), "ab")
