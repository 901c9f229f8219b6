"""Validation helpers for the app.yaml sections of the HTTP sources."""

from __future__ import annotations

import re

DEFAULT_PRODUCTION = r"(?i)^(prod|production|live)$"
"""Environment names that are production unless configured otherwise (METRICS.md 2.6)."""


def check_regex(value: str) -> str:
    """Validate a regular expression from app.yaml."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return value


def check_url(value: str) -> str:
    """Validate an http(s) base URL from app.yaml; the trailing slash is dropped."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("expected an http(s) URL such as https://api.example.com")
    return value.rstrip("/")
