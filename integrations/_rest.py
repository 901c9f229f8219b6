"""REST plumbing the HTTP sources share, built on the shared :class:`HttpClient`.

- Conditional GETs: send the stored ``ETag`` as ``If-None-Match``; a 304 means "unchanged" and, on
  GitHub, costs nothing against the rate limit.
- ``Link: <...>; rel="next"`` pagination (GitHub, GitLab offset and keyset), refusing to follow a
  link to another host so the token is never sent elsewhere.
- A pause when a successful answer says the primary rate limit is spent
  (``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset``, or GitLab's ``RateLimit-*``), instead of
  spending one more request on a 403.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.base import SourceError
from integrations.http import HttpClient

log = logging.getLogger(__name__)


class RestApi:
    """JSON over one :class:`HttpClient`: conditional requests, pages, rate-limit pauses."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    @property
    def source(self) -> str:
        return self.http.source_name

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, etag: str | None = None
    ) -> requests.Response:
        """GET ``path``; with ``etag`` the request is conditional and may answer 304."""
        headers = {"If-None-Match": etag} if etag else None
        response = self.http.request("GET", path, params=params, headers=headers)
        self._pause_if_spent(response)
        return response

    def post(self, path: str, body: Any) -> requests.Response:
        """POST a JSON body to ``path``."""
        response = self.http.request("POST", path, json=body)
        self._pause_if_spent(response)
        return response

    def decode(self, response: requests.Response, what: str) -> Any:
        """The JSON body of ``response``; a SourceError when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise SourceError(
                f"{self.source}: {what} answered with a body that is not JSON "
                f"({len(response.content)} bytes); the sync stops and resumes from its last "
                "stored page next time"
            ) from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and decode its JSON body."""
        return self.decode(self.get(path, params), path)

    def pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        first: requests.Response | None = None,
    ) -> Iterator[tuple[requests.Response, Any]]:
        """Every page of a list, following ``rel="next"`` links: (response, decoded body).

        ``first`` is the answer to the first page when the caller already has it (say, from a
        conditional request that did not answer 304).
        """
        response = first if first is not None else self.get(path, params)
        while True:
            yield response, self.decode(response, path)
            link = self.next_link(response)
            if link is None:
                return
            response = self.get(link)

    def next_link(self, response: requests.Response) -> str | None:
        """The ``rel="next"`` URL of ``response``, checked to point at the same host."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        base, target = urlsplit(self.http.base_url), urlsplit(link)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise SourceError(
                f"{self.source}: the next page link points to another host ({target.netloc}); "
                "refusing to send the token there. Check api_url in app.yaml"
            )
        return link

    def _pause_if_spent(self, response: requests.Response) -> None:
        headers = response.headers
        remaining = headers.get("X-RateLimit-Remaining", headers.get("RateLimit-Remaining"))
        reset = headers.get("X-RateLimit-Reset", headers.get("RateLimit-Reset"))
        if remaining != "0" or reset is None or not reset.isdigit():
            return
        wait = float(reset) - self.http.clock()
        if wait <= 0:
            return
        if wait > self.http.max_rate_limit_wait:
            raise SourceError(
                f"{self.source}: the API rate limit is spent until {wait:.0f}s from now, longer "
                f"than the {self.http.max_rate_limit_wait:.0f}s allowed; the sync resumes from its "
                "last stored page next time"
            )
        log.warning("%s: rate limit spent, waiting %.0fs for its reset", self.source, wait)
        self.http.stats.rate_limit_wait_seconds += wait
        self.http.sleep(wait)
