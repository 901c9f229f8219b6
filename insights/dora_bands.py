"""DORA performance bands of each metric, by DevLake's 2023 thresholds (METRICS.md 2.2, 2.3)."""

from __future__ import annotations


def deployment_frequency_band(m_w: float | None, m_m: float | None) -> str | None:
    """DevLake 2023 band from the weekly and monthly deployment-day medians."""
    if m_w is None or m_m is None:
        return None
    if m_w >= 5:
        return "elite"
    if m_w >= 1:
        return "high"
    return "medium" if m_m >= 1 else "low"


def lead_time_band(seconds: float | None) -> str | None:
    """DevLake 2023 band of a lead time for changes."""
    return _band_below(seconds, (1440, 10080, 43200))


def recovery_band(seconds: float | None) -> str | None:
    """DevLake 2023 band of a failed deployment recovery time."""
    return _band_below(seconds, (60, 1440, 10080))


def change_failure_band(rate: float | None) -> str | None:
    """DevLake 2023 band of a change failure rate."""
    if rate is None:
        return None
    for name, limit in zip(("elite", "high", "medium"), (0.05, 0.10, 0.15), strict=True):
        if rate <= limit:
            return name
    return "low"


def _band_below(seconds: float | None, minutes: tuple[int, int, int]) -> str | None:
    if seconds is None:
        return None
    for name, limit in zip(("elite", "high", "medium"), minutes, strict=True):
        if seconds / 60 < limit:
            return name
    return "low"
