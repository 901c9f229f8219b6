"""Map vendor records one by one, skipping (counting and logging) the malformed ones.

A malformed vendor record must not stop a sync: it is skipped with a warning that names the source
and the record, counted in the page's ``skipped``, and the rest of the page is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)
"""What a mapper raises on a record that lacks a field or has one of the wrong shape."""

T = TypeVar("T")


@dataclass
class Mapped(Generic[T]):
    """The records that mapped, and how many were skipped as malformed."""

    records: list[T] = field(default_factory=list)
    skipped: int = 0


def describe(raw: Any, *keys: str) -> str:
    """A short identification of a raw record for a log line (its first present key)."""
    if isinstance(raw, dict):
        for key in keys:
            if raw.get(key) is not None:
                return f"{key}={raw[key]!r}"
    return "a record without an id"


def map_each(
    source: str,
    kind: str,
    raws: Iterable[Any],
    mapper: Callable[[Any], T | None],
    ident: Callable[[Any], str],
) -> Mapped[T]:
    """Apply ``mapper`` to each raw record; None means "not wanted", an error means malformed."""
    result: Mapped[T] = Mapped()
    for raw in raws:
        try:
            record = mapper(raw)
        except MALFORMED as exc:
            result.skipped += 1
            log.warning("%s: skipped a malformed %s (%s): %s", source, kind, ident(raw), exc)
            continue
        if record is not None:
            result.records.append(record)
    return result
