"""Packed item histories: an item's events as three byte strings, their texts in a dictionary.

Each item's status changes, flag changes and reviews are stored as one ``histories`` row keyed
(team, item_id), each kind packed as a little-endian numpy record array (the layouts below):
instants as integer microseconds since the Unix epoch (UTC), texts (statuses, stages, review
states, reviewers) as ``int32`` codes into the team's ``history_strings`` dictionary, ``-1`` for
None. A team's million status changes thus share a handful of status strings, and a snapshot
decodes every history with one :func:`numpy.frombuffer` over the concatenated blobs.

The events' ``item_id`` is not stored: it is the item's. An event naming another item (which
the row-per-event tables refused through their foreign key) is refused with
:class:`ForeignEvent`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import accumulate, repeat
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Connection, Table, insert, select, text

from insights.model import FlagChange, ItemHistory, ReviewEvent, ReviewState, Stage, Transition
from storage.tables import HistoryStringRow

STRINGS = cast(Table, HistoryStringRow.__table__)
TRANSITION = np.dtype(
    [
        ("at", "<i8"),
        ("from_status", "<i4"),
        ("to_status", "<i4"),
        ("from_stage", "<i4"),
        ("to_stage", "<i4"),
    ]
)
FLAG = np.dtype([("at", "<i8"), ("flagged", "u1"), ("inferred", "u1")])
REVIEW = np.dtype([("at", "<i8"), ("state", "<i4"), ("reviewer", "<i4")])
"""The packed layouts of a status change, a flag change and a review (no padding)."""
NONE = -1
"""The code of a missing text (a first change's ``from_status``, an unknown reviewer)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DAY_MICROSECONDS = 86_400_000_000
DICTIONARY_LOCK_CLASS = 0x76736D64  # "vsmd"; the second key is the team's hash
STATE = np.dtype([("date", ">u4"), ("hour_minute", ">u2"), ("second_microsecond", ">u4")])
"""The 10-byte state pickle gives a datetime: year (2 bytes), month, day, hour, minute, second
and microsecond (3 bytes), big-endian."""
HOUR_MINUTE = np.array([hour << 8 | minute for hour in range(24) for minute in range(60)], ">u2")
_from_state = cast(Callable[[bytes, tzinfo], datetime], datetime)
"""``datetime(state, tzinfo)``: the constructor pickle calls with a 10-byte :data:`STATE`."""
STAGE_OF: dict[str | None, Stage] = {stage.value: stage for stage in Stage}
REVIEW_STATE_OF: dict[str | None, ReviewState] = {state.value: state for state in ReviewState}
E = TypeVar("E", Transition, FlagChange, ReviewEvent)
Codes = Mapping[str | None, int]


class ForeignEvent(ValueError):
    """An event naming another item than the history it came in (it has no item to belong to)."""


# --- Writing ---


def texts_of(histories: Iterable[ItemHistory]) -> set[str]:
    """Every text the histories' events hold: what the team's dictionary must know."""
    texts: set[str | None] = set()
    for history in histories:
        for t in history.transitions:
            texts.update((t.from_status, t.to_status, t.from_stage, t.to_stage))
        for r in history.reviews:
            texts.update((r.state, r.reviewer))
    texts.discard(None)
    return {str(value) for value in texts}


def dictionary_codes(conn: Connection, team: str, texts: set[str]) -> dict[str | None, int]:
    """The team's code of each of ``texts`` (and of None), adding the texts it lacks.

    Called once the team's items are written, so on SQLite the transaction already holds the
    database's write lock; on PostgreSQL a transaction-level advisory lock per team keeps two
    writers from giving one code to two texts.
    """
    codes = _stored_codes(conn, team)
    if not texts <= codes.keys():
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(:team))"),
                {"key": DICTIONARY_LOCK_CLASS, "team": team},
            )
            codes = _stored_codes(conn, team)
        codes.update(_added(conn, team, texts - codes.keys(), codes))
    return {**codes, None: NONE}


def _added(conn: Connection, team: str, texts: set[str], codes: Codes) -> dict[str, int]:
    """``texts`` added to the team's dictionary after ``codes``, by code."""
    first = max(codes.values(), default=NONE) + 1
    new = {value: first + n for n, value in enumerate(sorted(texts))}
    if new:  # another writer may have added them while this one waited for the lock
        rows = [{"team": team, "code": code, "value": value} for value, code in new.items()]
        conn.execute(insert(STRINGS), rows)
    return new


def _stored_codes(conn: Connection, team: str) -> dict[str | None, int]:
    query = select(STRINGS.c.value, STRINGS.c.code).where(STRINGS.c.team == team)
    return {value: code for value, code in conn.execute(query)}


def packed(histories: Sequence[ItemHistory], codes: Codes) -> list[tuple[bytes, bytes, bytes]]:
    """Each history's (transitions, flags, reviews) packed, texts as ``codes`` gives them.

    Raises :class:`ForeignEvent` for an event of another item than its history's.
    """
    return list(
        zip(
            _pack(TRANSITION, _transition_fields(histories, codes), histories, "transitions"),
            _pack(FLAG, _flag_fields(histories), histories, "flags"),
            _pack(REVIEW, _review_fields(histories, codes), histories, "reviews"),
            strict=True,
        )
    )


def _pack(
    layout: np.dtype[Any], fields: Sequence[list[Any]], histories: Sequence[ItemHistory], kind: str
) -> list[bytes]:
    """All histories' ``kind`` events, whose fields are ``fields``, packed one history each.

    The records are laid out as ``layout`` in one array, then cut at the histories' bounds.
    """
    records = np.empty(len(fields[0]), layout)
    for name, values in zip(layout.names or (), fields, strict=True):
        records[name] = values
    data = records.tobytes()
    ends = list(accumulate(len(getattr(h, kind)) * layout.itemsize for h in histories))
    return [data[start:end] for start, end in zip([0, *ends], ends, strict=False)]


def _events(histories: Sequence[ItemHistory], kind: str) -> list[Any]:
    """The histories' ``kind`` events in one list, once checked to be their item's."""
    events: list[Any] = []
    for history in histories:
        owned = getattr(history, kind)
        owner = history.item.id
        for event in owned:
            if event.item_id != owner:
                raise ForeignEvent(f"{event.item_id} has an event in the history of {owner}")
        events.extend(owned)
    return events


def _instants(events: Sequence[Transition | FlagChange | ReviewEvent]) -> list[int]:
    return [(event.at - EPOCH) // MICROSECOND for event in events]


def _transition_fields(histories: Sequence[ItemHistory], codes: Codes) -> list[list[int]]:
    moves: list[Transition] = _events(histories, "transitions")
    return [
        _instants(moves),
        [codes[t.from_status] for t in moves],
        [codes[t.to_status] for t in moves],
        [codes[t.from_stage] for t in moves],
        [codes[t.to_stage] for t in moves],
    ]


def _flag_fields(histories: Sequence[ItemHistory]) -> list[list[Any]]:
    flags: list[FlagChange] = _events(histories, "flags")
    return [_instants(flags), [f.flagged for f in flags], [f.inferred for f in flags]]


def _review_fields(histories: Sequence[ItemHistory], codes: Codes) -> list[list[int]]:
    reviews: list[ReviewEvent] = _events(histories, "reviews")
    return [
        _instants(reviews),
        [codes[r.state] for r in reviews],
        [codes[r.reviewer] for r in reviews],
    ]


# --- Reading ---


def stored_texts(conn: Connection, team: str) -> list[str | None]:
    """The team's dictionary as a list indexed by code + 1 (index 0: None, the code -1)."""
    query = select(STRINGS.c.code, STRINGS.c.value).where(STRINGS.c.team == team)
    pairs = conn.execute(query).all()
    texts: list[str | None] = [None] * (max((code for code, _ in pairs), default=NONE) + 2)
    for code, value in pairs:
        texts[code + 1] = value
    return texts


class Unpacker:
    """Decodes the packed histories of a team's items, given with their ids in one order.

    Events are built field by field, without their ``__init__`` (whose UTC check holds by
    construction), their item id shared with the item, their texts shared through the team's
    dictionary, their instants made in bulk (:func:`utc_datetimes`). Each item's events are a
    list, in stored order; an item without events of a kind has no entry in that kind's dict.
    """

    def __init__(
        self,
        owners: Sequence[str],
        texts: Sequence[str | None],
        transitions: Sequence[bytes | None],
        flags: Sequence[bytes | None],
        reviews: Sequence[bytes | None],
    ) -> None:
        """``texts`` as :func:`stored_texts` gives them; each blob None or b"" when none."""
        self.owners = owners
        self.texts = np.array(texts, dtype=object)
        self.blobs = {"transitions": transitions, "flags": flags, "reviews": reviews}
        self._owner_array = np.array(owners, dtype=object)

    def transitions(self) -> dict[str, list[Transition]]:
        records, counts = self._records("transitions", TRANSITION)
        stages = self._table(STAGE_OF)
        events = list(
            map(
                _transition,
                self._item_ids(counts),
                utc_datetimes(records["at"]),
                self._texts(records["from_status"]),
                self._texts(records["to_status"]),
                stages[records["from_stage"] + 1].tolist(),
                stages[records["to_stage"] + 1].tolist(),
            )
        )
        return self._grouped(events, counts)

    def flags(self) -> dict[str, list[FlagChange]]:
        records, counts = self._records("flags", FLAG)
        events = list(
            map(
                _flag,
                self._item_ids(counts),
                utc_datetimes(records["at"]),
                records["flagged"].astype(bool).tolist(),
                records["inferred"].astype(bool).tolist(),
            )
        )
        return self._grouped(events, counts)

    def reviews(self) -> dict[str, list[ReviewEvent]]:
        records, counts = self._records("reviews", REVIEW)
        states = self._table(REVIEW_STATE_OF)
        events = list(
            map(
                _review,
                self._item_ids(counts),
                utc_datetimes(records["at"]),
                states[records["state"] + 1].tolist(),
                self._texts(records["reviewer"]),
            )
        )
        return self._grouped(events, counts)

    def _records(self, kind: str, layout: np.dtype[Any]) -> tuple[np.ndarray[Any, Any], list[int]]:
        """All the items' records of one kind, and how many each item has."""
        present = [blob or b"" for blob in self.blobs[kind]]
        records = np.frombuffer(b"".join(present), layout)
        return records, [len(blob) // layout.itemsize for blob in present]

    def _item_ids(self, counts: list[int]) -> list[str]:
        return cast(list[str], np.repeat(self._owner_array, counts).tolist())

    def _texts(self, codes: np.ndarray[Any, Any]) -> list[str | None]:
        return cast(list[str | None], self.texts[codes + 1].tolist())

    def _table(self, of: Mapping[str | None, Any]) -> np.ndarray[Any, Any]:
        """The dictionary with its texts replaced by ``of`` (stages, review states)."""
        return np.array([of.get(value) for value in self.texts], dtype=object)

    def _grouped(self, events: list[E], counts: list[int]) -> dict[str, list[E]]:
        grouped: dict[str, list[E]] = {}
        start = 0
        for owner, count in zip(self.owners, counts, strict=True):
            if count:
                grouped[owner] = events[start : start + count]
                start += count
        return grouped


_new = object.__new__


def _transition(
    item_id: str,
    at: datetime,
    from_status: str | None,
    to_status: str,
    from_stage: Stage | None,
    to_stage: Stage,
) -> Transition:
    event: Transition = _new(Transition)
    event.item_id = item_id
    event.at = at
    event.from_status = from_status
    event.to_status = to_status
    event.from_stage = from_stage
    event.to_stage = to_stage
    return event


def _flag(item_id: str, at: datetime, flagged: bool, inferred: bool) -> FlagChange:
    event: FlagChange = _new(FlagChange)
    event.item_id = item_id
    event.at = at
    event.flagged = flagged
    event.inferred = inferred
    return event


def _review(item_id: str, at: datetime, state: ReviewState, reviewer: str | None) -> ReviewEvent:
    event: ReviewEvent = _new(ReviewEvent)
    event.item_id = item_id
    event.at = at
    event.state = state
    event.reviewer = reviewer
    return event


def utc_datetimes(instants: np.ndarray[Any, Any]) -> list[datetime]:
    """Aware UTC datetimes of integer microseconds since the Unix epoch, made in bulk.

    numpy lays out each instant's 10-byte datetime state (:data:`STATE`, the form pickle stores
    and the ``datetime`` constructor takes back), so each datetime costs one C call: four to five
    times less than ``fromtimestamp`` or datetime arithmetic per value.
    """
    days, of_day = np.divmod(instants.astype(np.int64), DAY_MICROSECONDS)
    seconds, microseconds = np.divmod(of_day, 1_000_000)
    states = np.empty(len(instants), STATE)
    states["date"] = _dates(days)
    states["hour_minute"] = HOUR_MINUTE[seconds // 60]
    states["second_microsecond"] = (seconds % 60) << 24 | microseconds
    return list(map(_from_state, states.view("V10").tolist(), repeat(UTC)))


def _dates(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``year << 16 | month << 8 | day`` of each day number (days since 1970-01-01).

    Each distinct day is converted once: every day of the span when it is dense (the usual
    case), else the distinct days found by sorting.
    """
    if not len(days):
        return days
    first = int(days.min())
    span = int(days.max()) - first + 1
    if span <= max(len(days), 4096):
        return cast(np.ndarray[Any, Any], _civil(np.arange(first, first + span))[days - first])
    distinct, index = np.unique(days, return_inverse=True)
    return cast(np.ndarray[Any, Any], _civil(distinct)[index])


def _civil(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    month_number = months.astype(np.int64)
    first_of_month = months.astype("datetime64[D]").astype(np.int64)
    year = month_number // 12 + 1970
    return cast(
        np.ndarray[Any, Any],
        year << 16 | (month_number % 12 + 1) << 8 | (days - first_of_month + 1),
    )
