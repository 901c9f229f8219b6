"""The shared HTTP client of every vendor source: timeouts, retries with backoff, rate limits.

A rejected answer is a rate limit when it is a 429, or a 403 that GitHub marks as one (its
documented rules, "Troubleshooting the REST API"): ``Retry-After`` present, the remaining budget
at ``0`` (a primary limit), or a message saying a rate limit was exceeded (a secondary limit). Any
other 403 is a refusal, reported at once with the scopes or permissions GitHub says the endpoint
accepts (``X-Accepted-OAuth-Scopes`` against ``X-OAuth-Scopes``, ``X-Accepted-GitHub-Permissions``).

The wait is ``Retry-After`` (seconds or an HTTP date; ``0`` means retry now); else, when the
budget is spent or not stated, the reset header (``X-RateLimit-Reset`` / ``RateLimit-Reset``: a
Unix time on GitHub and GitLab, seconds to wait on PagerDuty, see ``reset_counts_seconds``); else
a minute, doubling on each further limit of the same request, capped at ``max_rate_limit_wait``.
5xx answers and connection errors are retried with exponential backoff up to a cap; giving up
raises :class:`~integrations.base.SourceError` naming the source. ``sleep`` and ``clock`` are
injected so tests never wait for real time.

Bodies are decoded by orjson (:func:`decode_body`): a first sync decodes hundreds of megabytes.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests

from integrations.base import SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
UNSTATED_WAIT = 60.0
RATE_LIMIT_MESSAGE = re.compile(r"rate limit|abuse detection", re.IGNORECASE)
NUMBER = re.compile(r"\d+(\.\d+)?")


@dataclass
class HttpStats:
    """Counters a sync reports: requests sent, retries, seconds spent waiting on rate limits."""

    requests: int = 0
    retries: int = 0
    rate_limit_wait_seconds: float = 0.0


def _same_path(path: str) -> str:
    return path


@dataclass
class HttpClient:
    """A ``requests`` session wrapper for one source (one base URL, one set of credentials).

    ``reset_counts_seconds``: the vendor's ``RateLimit-Reset`` counts seconds to wait
    (PagerDuty) instead of naming a Unix time (GitHub, GitLab). ``name_resource`` turns a request
    path into what a refusal names ("repository acme/api"); by default the path itself.
    """

    source_name: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_rate_limit_wait: float = 900.0
    reset_counts_seconds: bool = False
    name_resource: Callable[[str], str] = _same_path
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    session: requests.Session = field(default_factory=requests.Session)
    stats: HttpStats = field(default_factory=HttpStats)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update({"Accept": "application/json", **self.headers})
        if self.auth is not None:
            self.session.auth = self.auth

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (absolute URLs pass through unchanged)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return its decoded JSON body."""
        return self._json(self.request("GET", path, params=params), path)

    def post_json(self, path: str, body: Any) -> Any:
        """POST a JSON ``body`` to ``path`` and return the decoded JSON answer."""
        return self._json(self.request("POST", path, json=body), path)

    def decode_json(self, response: requests.Response, path: str) -> Any:
        """The decoded JSON body of a response received earlier (perhaps by another client)."""
        return self._json(response, path)

    def _json(self, response: requests.Response, path: str) -> Any:
        try:
            return decode_body(response)
        except ValueError as exc:
            raise SourceError(
                f"{self.source_name}: {path} answered with a body that is not valid JSON "
                f"({len(response.content)} bytes); the sync stops and resumes from its last "
                "stored page next time"
            ) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying what is worth retrying; raise SourceError when giving up."""
        url = self.url(path)
        attempt = limited = 0
        while True:
            self.stats.requests += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"{type(exc).__name__}"
            else:
                if is_rate_limited(response):
                    if attempt >= self.max_retries:
                        raise self._give_up(
                            method, path, f"still rate limited ({response.status_code})"
                        )
                    reason = response.headers.get(
                        "RateLimit-Reason", f"HTTP {response.status_code}"
                    )
                    self.wait_out(self.rate_limit_wait(response.headers, limited), reason)
                    self.stats.retries += 1
                    attempt += 1
                    limited += 1
                    continue
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code >= 400 and response.status_code != 304:
                        raise self._client_error(method, path, response)
                    return response
                reason = f"HTTP {response.status_code}"
            if attempt >= self.max_retries:
                raise self._give_up(method, path, reason)
            delay = min(self.backoff_cap, self.backoff_base * 2**attempt)
            log.warning(
                "%s: %s %s failed (%s), retry %d in %.1fs",
                self.source_name,
                method,
                path,
                reason,
                attempt + 1,
                delay,
            )
            self.stats.retries += 1
            attempt += 1
            self.sleep(delay)

    def rate_limit_wait(self, headers: Mapping[str, str], limited_before: int) -> float:
        """Seconds to wait after an answer known to be rate limited.

        ``Retry-After`` first; then the reset header when the budget is spent (or not stated: it
        was then the budget that limited us); else a minute doubled per earlier limit
        (``limited_before``), capped at ``max_rate_limit_wait``.
        """
        retry_after = _retry_after(headers.get("Retry-After"), self.clock())
        if retry_after is not None:
            return retry_after
        if remaining_budget(headers) in (None, "0"):
            reset = self.seconds_until_reset(headers)
            if reset is not None:
                return max(1.0, reset)
        return min(self.max_rate_limit_wait, UNSTATED_WAIT * 2.0**limited_before)

    def seconds_until_reset(self, headers: Mapping[str, str]) -> float | None:
        """Seconds until the budget resets, from ``X-RateLimit-Reset`` or ``RateLimit-Reset``."""
        value = (headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset") or "").strip()
        if not NUMBER.fullmatch(value):
            return None
        return float(value) if self.reset_counts_seconds else float(value) - self.clock()

    def wait_out(self, wait: float, reason: str) -> None:
        """Sleep ``wait`` seconds for a rate limit; SourceError when that is longer than allowed."""
        if wait > self.max_rate_limit_wait:
            raise SourceError(
                f"{self.source_name}: rate limited by {self.base_url} for {wait:.0f}s, longer "
                f"than the {self.max_rate_limit_wait:.0f}s allowed; the sync resumes from its last "
                "stored page next time"
            )
        log.warning("%s: rate limited (%s), waiting %.1fs", self.source_name, reason, wait)
        self.stats.rate_limit_wait_seconds += wait
        self.sleep(wait)

    def _give_up(self, method: str, path: str, reason: str) -> SourceError:
        return SourceError(
            f"{self.source_name}: gave up on {method} {path} after {self.max_retries} retries "
            f"({reason}); the cursor stays at the last stored page, run the sync again later"
        )

    def _client_error(self, method: str, path: str, response: requests.Response) -> SourceError:
        hint = {
            401: "check the credentials (token or email + api_token) in app.yaml's environment",
            403: self._refusal_hint(response.headers, path),
            404: "check the url and the project/repository names in app.yaml",
        }.get(response.status_code, "see the answer above")
        body = response.text[:200].replace("\n", " ")
        return SourceError(
            f"{self.source_name}: {method} {path} answered HTTP {response.status_code}: "
            f"{body!r}; {hint}",
            status=response.status_code,
        )

    def _refusal_hint(self, headers: Mapping[str, str], path: str) -> str:
        resource = self.name_resource(path)
        return f"the credentials lack permission for {resource}" + _missing_grant(headers, resource)


def decode_body(response: requests.Response) -> Any:
    """The JSON body of ``response`` as Python; ValueError when it is not JSON.

    orjson reads the UTF-8 bytes directly. What it refuses (not JSON at all, and the rarities
    the standard decoder accepts: a body in another Unicode encoding, NaN, lone surrogates) goes
    to ``response.json()``, which decides as before. One difference remains: an integer beyond
    64 bits comes back as a float (no vendor field a source reads carries one).
    """
    if _utf8(response.encoding):
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
    return response.json()


def _utf8(encoding: str | None) -> bool:
    """Whether a body in ``encoding`` (None: unstated, JSON's own UTF-8) is UTF-8."""
    if encoding is None:
        return True
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def is_rate_limited(response: requests.Response) -> bool:
    """A 429, or a 403 that says it is a rate limit rather than a refusal."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    return (
        "Retry-After" in headers
        or remaining_budget(headers) == "0"
        or mentions_rate_limit(_message(response))
    )


def mentions_rate_limit(message: str) -> bool:
    """Whether a vendor's error message says a rate limit was hit (GitHub's secondary limits)."""
    return bool(RATE_LIMIT_MESSAGE.search(message))


def _message(response: requests.Response) -> str:
    try:
        body = decode_body(response)
    except ValueError:
        return response.text[:500]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def remaining_budget(headers: Mapping[str, str]) -> str | None:
    """The requests left in the budget (``X-RateLimit-Remaining`` or ``RateLimit-Remaining``)."""
    value = headers.get("X-RateLimit-Remaining") or headers.get("RateLimit-Remaining")
    return value.strip() if value is not None else None


def _missing_grant(headers: Mapping[str, str], resource: str) -> str:
    """What GitHub says the endpoint accepts and the token lacks ('' when it says nothing)."""
    permissions = [p.strip() for p in headers.get("X-Accepted-GitHub-Permissions", "").split(";")]
    permissions = [p[:100] for p in permissions if p]
    if permissions:
        return f": the token needs the permissions {' or '.join(permissions)}"
    accepted = _scopes(headers.get("X-Accepted-OAuth-Scopes"))
    if not accepted:
        return ""
    granted = _scopes(headers.get("X-OAuth-Scopes"))
    held = [scope for scope in accepted if scope in granted]
    if held:
        return (
            f": the token has the {held[0]} scope the endpoint accepts, so the token's owner "
            f"lacks access to {resource}"
        )
    return (
        f": the endpoint accepts {' or '.join(accepted)}, the token has "
        f"{', '.join(granted) or 'no scope'}; add one of the accepted scopes"
    )


def _scopes(value: str | None) -> list[str]:
    return [s.strip()[:50] for s in (value or "").split(",") if s.strip()][:20]


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
