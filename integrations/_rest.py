"""REST plumbing the HTTP sources share, built on the shared :class:`HttpClient`.

- Conditional GETs: send the stored ``ETag`` as ``If-None-Match``; a 304 means "unchanged" and, on
  GitHub, costs nothing against the rate limit.
- ``Link: <...>; rel="next"`` pagination (GitHub, GitLab offset and keyset), refusing to follow a
  link to another host so the token is never sent elsewhere.
- A pause when a successful answer says the rate limit is spent (``X-RateLimit-Remaining: 0``, or
  ``RateLimit-Remaining: 0`` on GitLab and PagerDuty) until its reset, read as the client reads it
  (a Unix time, or seconds to wait on PagerDuty), instead of spending a request on a rejection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.base import SourceError
from integrations.http import HttpClient, decode_body, remaining_budget


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

    def decode(self, response: requests.Response, what: str) -> Any:
        """The JSON body of ``response``; a SourceError when it is not JSON."""
        try:
            return decode_body(response)
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
        if remaining_budget(headers) != "0":
            return
        wait = self.http.seconds_until_reset(headers)
        if wait is not None and wait > 0:
            self.http.wait_out(wait, "budget spent until its reset")
