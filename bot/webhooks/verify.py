"""Each vendor's webhook contract: is this delivery signed with the source's secret, and its id.

:func:`verify` takes the request's headers, its raw body, the source's ``webhook_secret`` and the
URL's query, and returns the :class:`Delivery` (its id and event name) or None when the request
is not proven to come from the vendor. A missing or malformed header is a refusal; every
comparison is constant-time (:func:`hmac.compare_digest`). Nothing else is read from the body
than the event name and, where the vendor puts it there, the delivery id: a webhook is a hint.
When the vendor sends no delivery id, the SHA-256 of the body stands in for it, so a replayed
body is a duplicate.

- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; the id is
  ``X-GitHub-Delivery``, the event ``X-GitHub-Event`` (``ping`` when the hook is created).
  https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
  https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
- ``gitlab``: ``X-Gitlab-Token`` is the secret token itself; the id is ``Idempotency-Key``
  (GitLab 17.4+, the same across retries; ``X-Gitlab-Event-UUID`` is shared by recursive hooks,
  so it is not used), the event ``X-Gitlab-Event`` (``Push Hook``...).
  https://docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers
- ``pagerduty`` (v3): ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>``, several
  comma-separated during a secret rotation (one match is enough); the id is ``X-Webhook-Id``
  (the same across retries), else the payload's ``event.id``; the event is ``event.event_type``
  (``pagey.ping`` for a test).
  https://developer.pagerduty.com/docs/webhooks/webhook-signatures/ (PagerDuty/developer-docs
  docs/webhooks/04-Signatures.md), https://developer.pagerduty.com/docs/webhooks/webhook-behavior/
  (02-Behavior.md: at-least-once, ``X-Webhook-Id``), 01-Overview.md (payload ``event.id``).
- ``jira``: Cloud admin webhooks registered with a secret, and Data Center ones with a secret
  token, send ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>``; the id is
  ``X-Atlassian-Webhook-Identifier`` (Cloud; the same across retries), the event the payload's
  ``webhookEvent``. Older Data Center versions sign nothing: register the URL with the secret in
  its query (``/webhooks/<name>?secret=<secret>``), compared in constant time; it only proves the
  sender knows the URL, so prefer signing where the version offers it.
  https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks,
  https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_ID_LENGTH = 200
"""A longer (or unprintable) delivery id is stored as its SHA-256."""
MAX_EVENT_LENGTH = 100


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: its id (for dedupe) and the vendor's event name (for logs)."""

    delivery_id: str
    event: str


Verifier = Callable[[Mapping[str, str], bytes, bytes, Mapping[str, str]], Delivery | None]


def verify(
    kind: str, headers: Mapping[str, str], body: bytes, secret: str, query: Mapping[str, str]
) -> Delivery | None:
    """The delivery when ``body`` is proven to come from a ``kind`` vendor holding ``secret``.

    ``headers`` are matched case-insensitively; ``query`` is the URL's query (only Jira Data
    Center's unsigned fallback reads it). None: refused (also for a kind without webhooks).
    """
    verifier = VERIFIERS.get(kind)
    if verifier is None or not secret:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    return verifier(lowered, body, secret.encode(), query)


def _github(
    headers: Mapping[str, str], body: bytes, secret: bytes, query: Mapping[str, str]
) -> Delivery | None:
    if not _signed(headers.get("x-hub-signature-256", ""), "sha256=", body, secret):
        return None
    return Delivery(
        _delivery_id(headers.get("x-github-delivery", ""), body),
        _event(headers.get("x-github-event", "")),
    )


def _gitlab(
    headers: Mapping[str, str], body: bytes, secret: bytes, query: Mapping[str, str]
) -> Delivery | None:
    if not _same(headers.get("x-gitlab-token", ""), secret):
        return None
    return Delivery(
        _delivery_id(headers.get("idempotency-key", ""), body),
        _event(headers.get("x-gitlab-event", "")),
    )


def _pagerduty(
    headers: Mapping[str, str], body: bytes, secret: bytes, query: Mapping[str, str]
) -> Delivery | None:
    signatures = headers.get("x-pagerduty-signature", "").split(",")
    matches = [_signed(signature, "v1=", body, secret) for signature in signatures]
    if not any(matches):
        return None
    event = _json_object(body).get("event")
    event = event if isinstance(event, dict) else {}
    given_id = headers.get("x-webhook-id") or _text(event.get("id"))
    return Delivery(_delivery_id(given_id, body), _event(_text(event.get("event_type"))))


def _jira(
    headers: Mapping[str, str], body: bytes, secret: bytes, query: Mapping[str, str]
) -> Delivery | None:
    signature = headers.get("x-hub-signature")
    if signature is not None:
        verified = _signed(signature, "sha256=", body, secret)
    else:
        verified = _same(query.get("secret", ""), secret)
    if not verified:
        return None
    event = _text(_json_object(body).get("webhookEvent"))
    return Delivery(
        _delivery_id(headers.get("x-atlassian-webhook-identifier", ""), body), _event(event)
    )


VERIFIERS: dict[str, Verifier] = {
    "github": _github,
    "gitlab": _gitlab,
    "jira": _jira,
    "pagerduty": _pagerduty,
}
"""The source types that take webhooks, with their verification."""


def _signed(header: str, prefix: str, body: bytes, secret: bytes) -> bool:
    """Whether ``header`` is ``prefix`` + the hex HMAC-SHA256 of ``body`` under ``secret``."""
    given = header.strip()
    if not given.startswith(prefix):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return _same(given[len(prefix) :].lower(), expected.encode())


def _same(given: str, expected: bytes) -> bool:
    """Constant-time equality of a header (or query) value and the expected bytes."""
    return bool(given) and hmac.compare_digest(given.encode("utf-8", "replace"), expected)


def _delivery_id(given: str, body: bytes) -> str:
    """The vendor's delivery id; the body's SHA-256 without one; long or odd ids hashed."""
    given = given.strip()
    if not given:
        return hashlib.sha256(body).hexdigest()
    if len(given) > MAX_ID_LENGTH or not (given.isascii() and given.isprintable()):
        return hashlib.sha256(given.encode("utf-8", "replace")).hexdigest()
    return given


def _event(name: str) -> str:
    """The event name, printable and short (it is logged); ``unknown`` when missing."""
    printable = "".join(c for c in name if c.isprintable())[:MAX_EVENT_LENGTH]
    return printable or "unknown"


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; empty when it is not one (still a hint)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
