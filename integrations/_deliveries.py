"""Deployments settled oldest first: outcome, what each success shipped, and a safe high-water id.

Both GitHub and GitLab list deployments newest first by id. A sync reads the ids above
``last_id``, the highest id up to which everything is *settled* and stored, then processes them
oldest first: a successful deployment ships the main-line commits since the previous successful
one of the same environment, and ``last_id``/``last_success`` move only past settled deployments.
While one is still running (``open``), the ones after it are re-read (and re-shipped from the same
base) on the next sync. A source may also hand in a deployment at or below ``last_id`` again (a
re-run): it is settled from the latest success, and the mark never moves back.

Settled means finished, or still unfinished :data:`PENDING_TIMEOUT` after its creation. Such a
deployment is stored as it stands (running: the outcome is the vendor's, never made up) and stops
holding the mark back: the ones after it are no longer re-read, and neither is it, unless the
source hands it in again.

Each record keeps the vendor's environment name; the source decides which environments are
production and hands in only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from insights.model import Deployment, Outcome, Page

PENDING_TIMEOUT = timedelta(hours=48)
"""A deployment or run still unfinished this long after its creation is settled as it stands."""
CHUNK = 100


@dataclass(frozen=True)
class Settled:
    """How a deployment ended (or stands)."""

    outcome: Outcome
    finished_at: datetime
    url: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A production deployment to settle; ``settle`` may ask the vendor (statuses)."""

    native_id: int
    record_id: str
    environment: str
    """The vendor's name of the environment."""
    sha: str
    created_at: datetime
    """When this attempt was created: the start of its :data:`PENDING_TIMEOUT`."""
    started_at: datetime | None
    settle: Callable[[], Settled]


@dataclass(frozen=True)
class Settler:
    """What settling needs besides the candidates."""

    source: str
    team: str
    repo: str
    now: datetime
    ship: Callable[[str, str], tuple[str, ...]]
    """(previous success sha, this sha) -> ids of the pull requests shipped."""

    def run(
        self,
        state: dict[str, Any],
        candidates: list[Candidate],
        skipped: int,
        ceiling: int,
        commit: Callable[[], object] = lambda: None,
    ) -> Iterator[Page]:
        """Pages of deployments, oldest first; ``commit`` runs before the last page is made."""
        working = dict(state.get("last_success") or {})
        settled_so_far = True
        batch: list[Deployment] = []
        for candidate in sorted(candidates, key=lambda c: c.native_id):
            settled = candidate.settle()
            shipped: tuple[str, ...] = ()
            if settled.outcome is Outcome.SUCCESS:
                previous = working.get(candidate.environment)
                if previous and previous != candidate.sha:
                    shipped = self.ship(previous, candidate.sha)
                working[candidate.environment] = candidate.sha
            batch.append(self._deployment(candidate, settled, shipped))
            if settled_so_far and is_final(settled.outcome, candidate.created_at, self.now):
                state["last_id"] = max(int(state.get("last_id") or 0), candidate.native_id)
                state["last_success"] = dict(working)
            else:
                settled_so_far = False
            if len(batch) == CHUNK:
                yield Page(deployments=batch, skipped=skipped)
                batch, skipped = [], 0
        if settled_so_far:
            state["last_id"] = max(int(state.get("last_id") or 0), ceiling)
        state["open"] = not settled_so_far
        commit()
        yield Page(deployments=batch, skipped=skipped)

    def _deployment(
        self, candidate: Candidate, settled: Settled, shipped: tuple[str, ...]
    ) -> Deployment:
        return Deployment(
            id=candidate.record_id,
            team=self.team,
            source=self.source,
            environment=candidate.environment,
            outcome=settled.outcome,
            finished_at=settled.finished_at,
            started_at=candidate.started_at,
            sha=candidate.sha,
            repo=self.repo,
            shipped_item_ids=shipped,
            url=settled.url,
            production=True,  # every candidate passed the source's production filter
        )


def is_final(outcome: Outcome, created_at: datetime, now: datetime) -> bool:
    """Settled: finished, or still unfinished :data:`PENDING_TIMEOUT` after ``created_at``."""
    return outcome is not Outcome.RUNNING or now - created_at > PENDING_TIMEOUT
