"""Which pull requests a deployment shipped: the main-line commits since the previous success.

A successful deployment ships the commits in ``(previous successful deployment's sha, its sha]``
of the same repository and environment (METRICS.md 2.6). Each main-line (first-parent) commit of
that range is matched to the pull request it merged: by the merge/squash commit shas of the pull
requests read in this sync (so squash and rebase merges match, as in DevLake), else by asking the
vendor which merged pull request a commit belongs to (one request per unmatched commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_LOOKUPS = 250
"""Most per-commit look-ups for one deployment; beyond it the rest of the range stays unmatched."""


@dataclass
class ShipLedger:
    """Commit sha -> id of the merged pull request it belongs to, for one repository."""

    items: dict[str, str] = field(default_factory=dict)

    def remember(self, item_id: str, shas: Iterable[str | None]) -> None:
        """Record the merge, squash or head commit shas of a merged pull request."""
        for sha in shas:
            if sha:
                self.items[sha] = item_id

    def shipped(
        self, source: str, mainline: Sequence[str], lookup: Callable[[str], Sequence[str]]
    ) -> tuple[str, ...]:
        """The ids of the pull requests merged by ``mainline`` commits, in commit order."""
        found: dict[str, None] = {}
        lookups = 0
        for sha in mainline:
            known = self.items.get(sha)
            if known is not None:
                found[known] = None
                continue
            if lookups == MAX_LOOKUPS:
                log.warning(
                    "%s: a deployment range has more than %d unmatched commits; the rest are "
                    "not matched to pull requests",
                    source,
                    MAX_LOOKUPS,
                )
                break
            lookups += 1
            for item_id in lookup(sha):
                found[item_id] = None
                self.items[sha] = item_id
        return tuple(found)


def first_parent_chain(commits: Sequence[Mapping[str, Any]], head: str) -> list[str]:
    """The shas from ``head`` back along first parents while inside ``commits``, oldest first."""
    parents = {c["sha"]: [p["sha"] for p in c.get("parents") or ()] for c in commits}
    chain: list[str] = []
    seen: set[str] = set()
    sha: str | None = head
    while sha is not None and sha in parents and sha not in seen:
        chain.append(sha)
        seen.add(sha)
        sha = parents[sha][0] if parents[sha] else None
    chain.reverse()
    return chain
