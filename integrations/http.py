"""The shared HTTP client of every vendor source: timeouts, retries with backoff, rate limits.

It honours ``Retry-After`` on 429 (and on 403 secondary limits), GitHub's ``X-RateLimit-Reset``
when ``X-RateLimit-Remaining`` is 0, retries 5xx answers and connection errors with exponential
backoff up to a cap, and raises :class:`~integrations.base.SourceError` naming the source when it
gives up. ``sleep`` and ``clock`` are injected so tests never wait for real time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from integrations.base import SourceError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass
class HttpStats:
    """Counters a sync reports: requests sent, retries, seconds spent waiting on rate limits."""

    requests: int = 0
    retries: int = 0
    rate_limit_wait_seconds: float = 0.0


@dataclass
class HttpClient:
    """A ``requests`` session wrapper for one source (one base URL, one set of credentials)."""

    source_name: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_rate_limit_wait: float = 900.0
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
            return response.json()
        except ValueError as exc:
            raise SourceError(
                f"{self.source_name}: {path} answered with a body that is not valid JSON "
                f"({len(response.content)} bytes); the sync stops and resumes from its last "
                "stored page next time"
            ) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying what is worth retrying; raise SourceError when giving up."""
        url = self.url(path)
        attempt = 0
        while True:
            self.stats.requests += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = f"{type(exc).__name__}"
            else:
                wait = self._rate_limit_wait(response)
                if wait is not None:
                    if wait > self.max_rate_limit_wait:
                        raise SourceError(
                            f"{self.source_name}: rate limited by {self.base_url} for "
                            f"{wait:.0f}s, longer than the {self.max_rate_limit_wait:.0f}s "
                            "allowed; try again later"
                        )
                    if attempt >= self.max_retries:
                        raise self._give_up(
                            method, path, f"still rate limited ({response.status_code})"
                        )
                    log.warning(
                        "%s: rate limited (%s), waiting %.1fs",
                        self.source_name,
                        response.headers.get("RateLimit-Reason", f"HTTP {response.status_code}"),
                        wait,
                    )
                    self.stats.rate_limit_wait_seconds += wait
                    self.stats.retries += 1
                    attempt += 1
                    self.sleep(wait)
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

    def _rate_limit_wait(self, response: requests.Response) -> float | None:
        status = response.status_code
        headers = response.headers
        if status == 429 or (status == 403 and "Retry-After" in headers):
            return _retry_after(headers.get("Retry-After"), self.clock()) or 60.0
        if status in (403, 429) or headers.get("X-RateLimit-Remaining") == "0":
            reset = headers.get("X-RateLimit-Reset")
            if status in (403, 429) and reset is not None and reset.isdigit():
                return max(1.0, float(reset) - self.clock())
        return None

    def _give_up(self, method: str, path: str, reason: str) -> SourceError:
        return SourceError(
            f"{self.source_name}: gave up on {method} {path} after {self.max_retries} retries "
            f"({reason}); the cursor stays at the last stored page, run the sync again later"
        )

    def _client_error(self, method: str, path: str, response: requests.Response) -> SourceError:
        hint = {
            401: "check the credentials (token or email + api_token) in app.yaml's environment",
            403: "the credentials lack permission for this resource",
            404: "check the url and the project/repository names in app.yaml",
        }.get(response.status_code, "see the answer above")
        body = response.text[:200].replace("\n", " ")
        return SourceError(
            f"{self.source_name}: {method} {path} answered HTTP {response.status_code}: "
            f"{body!r}; {hint}",
            status=response.status_code,
        )


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
