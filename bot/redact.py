"""Secrets never leave the process in clear: one scrubber for logs and for every error text.

slack_sdk logs request and response bodies at debug level (an OAuth exchange's response carries
the new bot token), an exception message may quote a value, and a vendor's error body may echo
the credential it was sent (Jira does). :func:`redact` replaces with ``[redacted]``:

* every secret from app.yaml (:func:`secret_values`: each ``SecretStr``, the Basic-auth
  encodings of ``email:api_token`` and ``client_id:client_secret``, the password of any URL and
  its ``user:password`` encoding), in every form it travels in: plain, URL-encoded, base64, JSON-
  or repr-escaped, and cut short when an error body was truncated inside it;
* any credential after an auth scheme or a token-like label (``Bearer …``, ``Basic …``,
  ``Token token=…``, ``PRIVATE-TOKEN: …``, ``"api_token": "…"``), known or not;
* anything shaped like a Slack token.

:func:`protect_logs` registers the secrets once per process and installs a log record factory
that scrubs every record before any handler sees it; the sync scrubs its error text with the same
:func:`redact` before it is printed, stored in ``source_health`` or posted to Slack.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import BaseModel, SecretStr

REDACTED = "[redacted]"
SLACK_TOKEN = re.compile(r"\bxox(?:e\.xox)?[a-z]-[A-Za-z0-9-]+")
CREDENTIAL = re.compile(
    r"""(?P<label>\b(?:basic|bearer|token)\s+
    |[\w-]*(?:token|secret|password|passwd|api[_-]?key)["']?\s*[=:]\s*["']?)
    (?P<value>[A-Za-z0-9+/=._~%-]{8,})""",
    re.IGNORECASE | re.VERBOSE,
)
"""A value after an auth scheme or a secret-like label; :func:`_looks_secret` has the last word."""
MIN_SECRET_CHARS = 6
"""Shorter values would redact ordinary words; no real secret is that short."""
MIN_FRAGMENT_CHARS = 10
"""A truncated error body may end inside a secret: a start of a secret this long is redacted."""
USER_FIELDS = ("email", "user", "username", "login", "client_id")
"""Fields that pair with a secret of the same section in HTTP Basic auth (``user:secret``)."""

_needles: tuple[str, ...] = ()
"""Every form of every registered secret, longest first (a form containing another goes whole)."""
_registered: set[str] = set()
_lock = threading.Lock()
_installed = False


def secret_values(node: Any) -> list[str]:
    """Every secret in a config tree, with the Basic-auth encodings it is sent in.

    Each ``SecretStr`` (comma-separated keys also one by one), ``b64(user:secret)`` for a
    :data:`USER_FIELDS` field beside it, and the password of any URL (with its Basic encoding).
    """
    if isinstance(node, SecretStr):
        value = node.get_secret_value()
        return [value, *(part.strip() for part in value.split(",") if "," in value)]
    if isinstance(node, BaseModel):
        return _model_secrets(node)
    if isinstance(node, str):
        return _url_secrets(node)
    if isinstance(node, list | tuple | set | frozenset):
        return [v for item in node for v in secret_values(item)]
    if isinstance(node, dict):
        return [v for item in node.values() for v in secret_values(item)]
    return []


def _model_secrets(model: BaseModel) -> list[str]:
    values = [getattr(model, name) for name in type(model).model_fields]
    found = [secret for value in values for secret in secret_values(value)]
    users = [getattr(model, name, None) for name in USER_FIELDS]
    own = [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
    pairs = [_b64(f"{user}:{secret}") for user in users if isinstance(user, str) for secret in own]
    return found + pairs


def _url_secrets(text: str) -> list[str]:
    """The password of a URL such as ``postgresql://user:password@host/db``, in its forms."""
    if "@" not in text or "//" not in text:
        return []
    with suppress(ValueError):
        parts = urlsplit(text)
        if parts.password:
            password = unquote(parts.password)
            return [password, parts.password, _b64(f"{unquote(parts.username or '')}:{password}")]
    return []


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _forms(secret: str) -> set[str]:
    """The texts ``secret`` may appear as: encoded for a URL or base64, escaped for JSON or repr."""
    encoded = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), _b64(secret)}
    escaped = (
        encoded | {json.dumps(f)[1:-1] for f in encoded} | {f.replace("/", r"\/") for f in encoded}
    )
    return escaped | {repr(f)[1:-1] for f in escaped}


def _all_forms(secrets: Iterable[str]) -> set[str]:
    return {form for s in secrets if len(s) >= MIN_SECRET_CHARS for form in _forms(s)}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (``secrets`` and those registered) and credential replaced."""
    extra = _all_forms(secrets)
    needles = (*sorted(extra, key=len, reverse=True), *_needles) if extra else _needles
    for needle in needles:
        if needle in text:
            text = text.replace(needle, REDACTED)
    text = _redact_fragments(text, needles)
    text = CREDENTIAL.sub(_credential, text)
    return SLACK_TOKEN.sub(REDACTED, text)


def _redact_fragments(text: str, needles: Iterable[str]) -> str:
    """``text`` with each start of a needle (at least MIN_FRAGMENT_CHARS long) replaced."""
    spans = sorted(span for needle in needles for span in _fragment_spans(text, needle))
    pieces, kept = [], 0
    for start, end in spans:
        if start >= kept:
            pieces += [text[kept:start], REDACTED]
        kept = max(kept, end)
    return "".join(pieces) + text[kept:]


def _fragment_spans(text: str, needle: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that are starts of ``needle`` (no shorter than MIN_FRAGMENT_CHARS)."""
    head = needle[:MIN_FRAGMENT_CHARS]
    start = text.find(head) if len(needle) > MIN_FRAGMENT_CHARS else -1
    while start != -1:
        end = start + MIN_FRAGMENT_CHARS
        while end < len(text) and end - start < len(needle) and text[end] == needle[end - start]:
            end += 1
        yield start, end
        start = text.find(head, end)


def _credential(match: re.Match[str]) -> str:
    value = match.group("value")
    return match.group("label") + REDACTED if _looks_secret(value) else match.group(0)


def _looks_secret(value: str) -> bool:
    """A token has digits or length; "Basic authentication" or "token expired" do not."""
    return len(value) >= 16 or any(c.isdigit() for c in value)


def protect_logs(secrets: Iterable[str]) -> None:
    """Register ``secrets`` for :func:`redact`, and redact every log record made from now on."""
    global _installed, _needles
    with _lock:
        new = {s for s in secrets if s not in _registered}
        if new:
            _registered.update(new)
            _needles = tuple(sorted({*_needles, *_all_forms(new)}, key=len, reverse=True))
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(scrubbed_record)
