"""What a detector says: a finding about an item or the team, with evidence and an action.

Every detector returns :class:`Finding` objects. The ``dedupe_key`` is stable across runs for the
same problem on the same subject, so the bot posts a finding once, updates it in place while it
lasts, and marks it resolved when it clears.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

ASSIGNEE = "assignee"
REVIEWER = "reviewer"
AUTHOR = "author"


class Severity(StrEnum):
    """How urgent a finding is; compare with :attr:`rank`."""

    INFO = "info"
    WARN = "warn"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warn, 2 for critical."""
        return ("info", "warn", "critical").index(self.value)


@dataclass(frozen=True)
class Finding:
    """One problem worth a person's attention."""

    detector: str
    """Name of the detector module that found it (``aging_item``, ``pr_waiting_review``...)."""
    severity: Severity
    subject: str
    """The item key (``PAY-12``, ``acme/api#7``) or ``team``."""
    title: str
    """One plain sentence: "PAY-12 has been in Code Review for 6 days"."""
    action: str
    """What a person can do about it: "Ask a reviewer to pick it up, or swarm on it"."""
    dedupe_key: str
    """Stable key of this problem on this subject, e.g. ``aging_item:payments:PAY-12``."""
    evidence: Mapping[str, float | int | str] = field(default_factory=dict)
    """The numbers behind the finding, with units in the names (``age_days``, ``p85_days``)."""
    item_keys: tuple[str, ...] = ()
    """The keys of the items behind the finding."""
    url: str | None = None
    """Where to open the item (or the team's board)."""
    people: tuple[str, ...] = ()
    """Who can act, as the source names them (assignee, requested reviewers or author); the bot
    maps these names to Slack users (``people:`` in app.yaml)."""
    role: str = ""
    """How ``people`` relate to the subject: ``assignee``, ``reviewer`` or ``author``."""
    reasons: tuple[Finding, ...] = ()
    """On a subject's merged finding (:mod:`insights.subjects`): the detectors' findings it
    stands for, the chosen one first. Empty on a detector's own finding."""
