"""How far past a threshold a value is, as a severity."""

from __future__ import annotations

from insights.findings import Severity

CRITICAL_FACTOR = 3.0
"""A time-based problem turns critical at this multiple of the agreed threshold."""


def past_threshold(
    value: float, threshold: float, factor: float = CRITICAL_FACTOR
) -> Severity | None:
    """None up to ``threshold``, warn beyond it, critical beyond ``factor`` times it."""
    if value <= threshold:
        return None
    return Severity.CRITICAL if value > threshold * factor else Severity.WARN
