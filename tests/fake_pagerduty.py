"""A fake PagerDuty REST API (v2) on a real loopback HTTP server, serving documented shapes.

``GET /incidents`` filters by ``service_ids[]`` and by creation time in ``[since, until)``, sorts
by ``sort_by=created_at:asc|desc`` and pages with ``offset``/``limit`` answering ``more`` (and
``total`` when asked). ``GET /incidents/{id}/log_entries`` pages the same way. Requests
authenticate with ``Authorization: Token token=...``.

Rate limits as PagerDuty documents them ("REST API Rate Limits"): every answer carries
``ratelimit-limit``, ``ratelimit-remaining`` and ``ratelimit-reset`` (the *seconds* until the
budget refills); a request over the budget gets a 429. The budget is ``rate_limit`` requests per
``RATE_WINDOW`` seconds of ``clock`` (a fixed clock by default: the window then never ends).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_github import FakeServer, Reply, Request

RATE_LIMIT = 960  # requests per minute per API key
RATE_WINDOW = 60.0


@dataclass
class FakeAccount:
    """Incidents and their log entries."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    log_entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakePagerDuty(FakeServer):
    """PagerDuty's incidents API over one in-memory account."""

    def __init__(self, token: str = "pd-test-token") -> None:
        super().__init__()
        self.token = token
        self.account = FakeAccount()
        self.clock: Callable[[], float] = lambda: 0.0
        self.rate_limit = RATE_LIMIT
        self.rate_used = 0
        self.window_start: float | None = None

    def load(self, fixture: dict[str, Any]) -> FakeAccount:
        self.account.incidents += fixture.get("incidents", [])
        self.account.log_entries.update(fixture.get("log_entries", {}))
        return self.account

    def route(self, request: Request) -> Reply:
        now = self.clock()
        if self.window_start is None or now >= self.window_start + RATE_WINDOW:
            self.window_start, self.rate_used = now, 0
        if self.rate_used >= self.rate_limit:
            return self._rate_headers(
                Reply(429, {"error": {"message": "Rate Limit Exceeded"}}), now
            )
        self.rate_used += 1
        return self._rate_headers(self._answer(request), now)

    def _rate_headers(self, reply: Reply, now: float) -> Reply:
        assert self.window_start is not None
        reply.headers.update(
            {
                "ratelimit-limit": str(self.rate_limit),
                "ratelimit-remaining": str(self.rate_limit - self.rate_used),
                "ratelimit-reset": str(math.ceil(self.window_start + RATE_WINDOW - now)),
            }
        )
        return reply

    def _answer(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Token token={self.token}":
            error = {"message": "Unauthorized", "code": 2006, "errors": []}
            return Reply(401, {"error": error})
        if request.path == "/incidents":
            return self._incidents(request)
        match = re.fullmatch(r"/incidents/(?P<id>\w+)/log_entries", request.path)
        if match:
            entries = self.account.log_entries.get(match["id"], [])
            return Reply(200, self._page(request, "log_entries", entries))
        return Reply(404, {"error": {"message": "Not Found", "code": 2100}})

    def _incidents(self, request: Request) -> Reply:
        services = set(request.query.get("service_ids[]", []))
        since, until = request.arg("since"), request.arg("until")
        found = [
            i
            for i in self.account.incidents
            if (not services or i["service"]["id"] in services)
            and (since is None or i["created_at"] >= since)
            and (until is None or i["created_at"] < until)
        ]
        found.sort(
            key=lambda i: i["created_at"], reverse=(request.arg("sort_by") or "").endswith("desc")
        )
        return Reply(200, self._page(request, "incidents", found))

    def _page(self, request: Request, name: str, items: list[Any]) -> dict[str, Any]:
        limit = min(100, int(request.arg("limit") or 25))
        offset = int(request.arg("offset") or 0)
        body: dict[str, Any] = {
            name: items[offset : offset + limit],
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(items),
            "total": len(items) if request.arg("total") == "true" else None,
        }
        return body
