"""Find the work items a pull or merge request belongs to: tracker keys in its branch, title, body.

Only keys of the team's configured projects (``teams[].projects``, e.g. ``PAY``) count, so a PR
mentioning ``ISO-8601`` or ``UTF-8`` links nothing. Branch names are often lower case
(``feature/pay-12-refunds``), so keys match case-insensitively and come back upper case. A key must
stand alone: ``XPAY-12`` and ``PAY-123`` do not yield ``PAY-12``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def key_pattern(project_keys: Sequence[str]) -> re.Pattern[str] | None:
    """The regex matching issue keys of ``project_keys``; None when there are no projects."""
    keys = sorted({k.strip().upper() for k in project_keys if k.strip()}, key=len, reverse=True)
    if not keys:
        return None
    alternatives = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<![A-Za-z0-9_])({alternatives})-([1-9][0-9]*)(?![0-9])", re.IGNORECASE)


def extract_keys(texts: Iterable[str | None], project_keys: Sequence[str]) -> tuple[str, ...]:
    """The distinct issue keys found in ``texts``, in order of first appearance, upper case."""
    pattern = key_pattern(project_keys)
    if pattern is None:
        return ()
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for match in pattern.finditer(text):
            found[f"{match.group(1).upper()}-{match.group(2)}"] = None
    return tuple(found)
