"""``POST /webhooks/<source name>``: verify a vendor's webhook, remember it, hint a sync.

The name is a source's ``name:`` in app.yaml (its type when unnamed); a name several teams use
stands for each of their sources. The answer, in order of the checks:

- 404 for a path outside ``/webhooks/``, 405 to anything but POST, 404 when no source of that
  name has a ``webhook_secret`` (an unknown name and one without a secret get the same answer);
- 413 for a body over :data:`~bot.slack.receiving.guard.MAX_BODY_BYTES`, before it is read;
- 401 when the signature (or token) is missing or wrong (:mod:`bot.webhooks.verify`): nothing
  is stored;
- 200 ``{"duplicate": true}`` for a delivery id already received: nothing else is done;
- 202 otherwise, at once: the delivery is remembered, every team's source of that name records a
  webhook received (:mod:`storage.webhooks`), and the hint sink is told the name (a ``ping``
  only proves the hook works, so it hints nothing). The sync runs later, outside the request.
- 503 when the database cannot remember the delivery (the vendor retries).

Logs name the source, the event and the delivery id; never the secret, the signature or the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.exc import SQLAlchemyError

from bot.config import AppConfig, TeamConfig
from bot.runtime import Runtime
from bot.slack.receiving.guard import refuse_oversized
from bot.slack.wsgi import WEBHOOKS_PATH, Wsgi
from bot.sync import source_key
from bot.webhooks.hints import HintSink
from bot.webhooks.verify import VERIFIERS, Delivery, verify
from integrations.base import SourceConfig
from storage.webhooks import record_received, remember_delivery

log = logging.getLogger(__name__)
PINGS = frozenset({"ping", "pagey.ping"})
"""Events that only test the hook (GitHub's on creation, PagerDuty's test event)."""
Answer = tuple[str, dict[str, Any]]
NOT_FOUND: Answer = ("404 Not Found", {"error": "not found"})
NOT_ALLOWED: Answer = ("405 Method Not Allowed", {"error": "use POST"})
UNAUTHORIZED: Answer = ("401 Unauthorized", {"error": "invalid signature"})
UNAVAILABLE: Answer = ("503 Service Unavailable", {"error": "try again later"})
DUPLICATE: Answer = ("200 OK", {"duplicate": True})
ACCEPTED: Answer = ("202 Accepted", {"accepted": True})


def webhook_sources(config: AppConfig) -> dict[str, list[tuple[TeamConfig, SourceConfig]]]:
    """Each source name taking webhooks, with every team's source of that name that has a secret."""
    found: dict[str, list[tuple[TeamConfig, SourceConfig]]] = {}
    for team in config.teams:
        for source in team.source_configs():
            if source.webhook_secret is not None and source.type in VERIFIERS:
                found.setdefault(source.display_name(), []).append((team, source))
    return found


def webhook_app(runtime: Runtime, hints: HintSink) -> Wsgi:
    """A WSGI app serving ``POST /webhooks/<source name>`` (module docstring)."""
    sources = webhook_sources(runtime.config)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, answer = _answer(environ)
        headers = [("Content-Type", "application/json")]
        if status == NOT_ALLOWED[0]:
            headers.append(("Allow", "POST"))
        start_response(status, headers)
        return [json.dumps(answer).encode()]

    def _answer(environ: dict[str, Any]) -> Answer:
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(WEBHOOKS_PATH):
            return NOT_FOUND
        if environ.get("REQUEST_METHOD") != "POST":
            return NOT_ALLOWED
        name = path.removeprefix(WEBHOOKS_PATH)
        targets = sources.get(name)
        if not targets:
            log.info("refused a webhook for %r: no source of that name takes webhooks", name[:100])
            return NOT_FOUND
        refused = refuse_oversized(environ)
        if refused is not None:
            return refused[0], {"error": "request body too large"}
        body = environ["wsgi.input"].read()
        delivery = _verified(targets, environ, body)
        if delivery is None:
            log.warning(
                "refused a webhook for source %s from %s: missing or bad signature (%d bytes)",
                name,
                environ.get("REMOTE_ADDR", "unknown address"),
                len(body),
            )
            return UNAUTHORIZED
        return _accept(name, targets, delivery)

    def _accept(
        name: str, targets: list[tuple[TeamConfig, SourceConfig]], delivery: Delivery
    ) -> Answer:
        now = runtime.clock()
        said = f"webhook {delivery.event} (delivery {delivery.delivery_id}) for source {name}"
        try:
            new = remember_delivery(runtime.engine, name, delivery.delivery_id, now)
        except SQLAlchemyError as exc:
            log.warning("cannot remember %s: %s", said, exc)
            return UNAVAILABLE
        if not new:
            log.info("%s: already received", said)
            return DUPLICATE
        try:
            record_received(runtime.engine, [source_key(t, s) for t, s in targets], now)
        except SQLAlchemyError as exc:  # health only: the hint still goes
            log.warning("cannot record the arrival of %s: %s", said, exc)
        if delivery.event in PINGS:
            log.info("%s: the hook works", said)
        else:
            log.info("%s: sync hinted", said)
            hints.notify(name, now)
        return ACCEPTED

    return application


def _verified(
    targets: list[tuple[TeamConfig, SourceConfig]], environ: dict[str, Any], body: bytes
) -> Delivery | None:
    """The delivery when the request verifies against one of the sources' secrets."""
    headers = {
        key[5:].replace("_", "-"): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    query = dict(parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True))
    tried: set[tuple[str, str]] = set()
    for _, source in targets:
        assert source.webhook_secret is not None  # webhook_sources keeps only those
        kind, secret = source.type, source.webhook_secret.get_secret_value()
        if (kind, secret) in tried:
            continue
        tried.add((kind, secret))
        delivery = verify(kind, headers, body, secret, query)
        if delivery is not None:
            return delivery
    return None
