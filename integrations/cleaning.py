"""Vendor text cleaned at the integration boundary: no NUL character reaches storage.

Real vendor data carries NUL characters (a Jira summary pasted from a binary log, a name from a
broken import). PostgreSQL refuses them in text, so one such record would fail its whole page on
every sync. :func:`clean_page` removes them from every text field of every record of a page the
source yields, and counts the records it changed; records without one are passed on untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    LiveItems,
    Page,
    PipelineRun,
    Plan,
    ReviewEvent,
    Transition,
    WorkItem,
)

NUL = "\x00"
R = TypeVar("R")


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of the fields ``names`` of a record, as a tuple, at C speed."""
    get = attrgetter(*names) if names else (lambda record: ())
    return get if len(names) != 1 else (lambda record: (get(record),))


@dataclass(frozen=True)
class _Texts:
    """Where the text of one record class is: its text fields and its tuple-of-text fields."""

    names: tuple[str, ...]
    tuples: tuple[str, ...]
    values: Callable[[Any], tuple[Any, ...]]
    """The values of the text fields of a record."""
    tuple_values: Callable[[Any], tuple[Any, ...]]
    """The values of the tuple-of-text fields of a record."""

    def dirty(self, records: Iterable[Any]) -> bool:
        """Whether any of ``records`` holds a NUL character in any text.

        A page holds up to a million records: the texts are gathered and searched in C.
        """
        if self.tuples:
            records = list(records)
            lists = chain.from_iterable(map(self.tuple_values, records))
            if NUL in "".join(chain.from_iterable(lists)):
                return True
        return NUL in "".join(filter(None, chain.from_iterable(map(self.values, records))))

    def clean(self, record: R) -> R:
        """``record`` with the NUL characters removed from every text."""
        changes: dict[str, Any] = {
            n: v.replace(NUL, "") for n in self.names if (v := getattr(record, n)) is not None
        }
        for name in self.tuples:
            changes[name] = tuple(value.replace(NUL, "") for value in getattr(record, name))
        return replace(record, **changes)  # type: ignore[type-var]


@cache
def _texts(kind: type) -> _Texts:
    """Where the text of ``kind``'s records is, from its type hints."""
    hints = get_type_hints(kind)
    names = [f.name for f in fields(kind)]
    texts = tuple(
        n for n in names if hints[n] is str or set(get_args(hints[n])) == {str, type(None)}
    )
    tuples = tuple(
        n for n in names if get_origin(hints[n]) is tuple and get_args(hints[n])[0] is str
    )
    return _Texts(texts, tuples, _getter(texts), _getter(tuples))


def _clean_all(records: Sequence[R]) -> tuple[Sequence[R], int]:
    """``records`` without NUL characters, and how many had one (the same sequence if none)."""
    if not records:
        return records, 0
    kind: type = type(records[0])
    texts = _texts(kind)
    dirty = [index for index, record in enumerate(records) if texts.dirty((record,))]
    if not dirty:
        return records, 0
    cleaned = list(records)
    for index in dirty:
        cleaned[index] = texts.clean(cleaned[index])
    return cleaned, len(dirty)


def _clean_history(history: ItemHistory) -> tuple[ItemHistory, int]:
    """A history without NUL characters, and how many of its records (item, events) had one."""
    [item], count = _clean_all((history.item,))
    transitions, moved = _clean_all(history.transitions)
    flags, flagged = _clean_all(history.flags)
    reviews, reviewed = _clean_all(history.reviews)
    count += moved + flagged + reviewed
    if not count:
        return history, 0
    return ItemHistory(item, tuple(transitions), tuple(flags), tuple(reviews)), count


def _clean_histories(histories: Sequence[ItemHistory]) -> tuple[list[ItemHistory], int]:
    cleaned, count = [], 0
    for history in histories:
        history, changed = _clean_history(history)
        cleaned.append(history)
        count += changed
    return cleaned, count


def _clean_live(live: LiveItems | None) -> LiveItems | None:
    """The live ids as the cleaned items have them, so no cleaned item is taken for removed."""
    if live is None or NUL not in "".join(live.ids):
        return live
    return replace(live, ids=frozenset(item_id.replace(NUL, "") for item_id in live.ids))


def _has_nul(page: Page) -> bool:
    """Whether any text of ``page`` holds a NUL character: a few C-speed passes over the page."""
    histories = page.histories
    live = page.live_items
    return (
        _texts(WorkItem).dirty(h.item for h in histories)
        or _texts(Transition).dirty(chain.from_iterable(h.transitions for h in histories))
        or _texts(FlagChange).dirty(chain.from_iterable(h.flags for h in histories))
        or _texts(ReviewEvent).dirty(chain.from_iterable(h.reviews for h in histories))
        or _texts(Deployment).dirty(page.deployments)
        or _texts(PipelineRun).dirty(page.pipeline_runs)
        or _texts(Incident).dirty(page.incidents)
        or _texts(Plan).dirty(page.plans)
        or (live is not None and NUL in "".join(live.ids))
    )


def clean_page(page: Page) -> tuple[Page, int]:
    """``page`` without NUL characters in any text, and the number of records that had one.

    A page without any (nearly every page) comes back as it is, the same object.
    """
    if not _has_nul(page):
        return page, 0
    histories, count = _clean_histories(page.histories)
    deployments, deployed = _clean_all(page.deployments)
    runs, ran = _clean_all(page.pipeline_runs)
    incidents, incurred = _clean_all(page.incidents)
    plans, planned = _clean_all(page.plans)
    count += deployed + ran + incurred + planned
    live = _clean_live(page.live_items)
    return (
        replace(
            page,
            histories=histories,
            deployments=deployments,
            pipeline_runs=runs,
            incidents=incidents,
            plans=plans,
            live_items=live,
        ),
        count,
    )
