"""Secrets never reach a log: every record is scrubbed of known secrets and of Slack tokens.

slack_sdk logs request and response bodies at debug level (an OAuth exchange's response carries
the new bot token), and an exception message may quote a value. :func:`protect_logs` installs,
once per process, a log record factory that replaces every secret from app.yaml (each
``SecretStr``: Slack tokens, signing and client secrets, encryption keys, source tokens) and
anything shaped like a Slack token with ``[redacted]`` before any handler sees the record.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretStr

REDACTED = "[redacted]"
SLACK_TOKEN = re.compile(r"\bxox(?:e\.xox)?[a-z]-[A-Za-z0-9-]+")
MIN_SECRET_CHARS = 6
"""Shorter values would redact ordinary words; no real secret is that short."""

_secrets: tuple[str, ...] = ()
"""Longest first, so a secret containing another is replaced whole."""
_lock = threading.Lock()
_installed = False


def secret_values(node: Any) -> list[str]:
    """Every ``SecretStr`` value in a config tree (comma-separated keys also one by one)."""
    if isinstance(node, SecretStr):
        value = node.get_secret_value()
        return [value, *(part.strip() for part in value.split(",") if "," in value)]
    if isinstance(node, BaseModel):
        return [v for name in type(node).model_fields for v in secret_values(getattr(node, name))]
    if isinstance(node, list | tuple | set | frozenset):
        return [v for item in node for v in secret_values(item)]
    if isinstance(node, dict):
        return [v for item in node.values() for v in secret_values(item)]
    return []


def redact(text: str) -> str:
    """``text`` with every known secret and Slack token replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return SLACK_TOKEN.sub(REDACTED, text)


def protect_logs(secrets: Iterable[str]) -> None:
    """Redact ``secrets`` (and Slack tokens) from every log record made from now on."""
    global _installed, _secrets
    with _lock:
        known = {*_secrets, *(s for s in secrets if len(s) >= MIN_SECRET_CHARS)}
        _secrets = tuple(sorted(known, key=len, reverse=True))
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
