"""Hypothesis strategies for random item histories, and the snapshot storage must give back.

The histories are wild on purpose: any text a vendor may send (but NUL, which the integrations
clean, and lone surrogates, which no database encodes), instants from year 1 to 9999 or crowded
into a few weeks, events in any order, a first change with no ``from_status``, reviews without a
reviewer. Storage keeps them exactly as given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from hypothesis import strategies as st

from insights.model import (
    FlagChange,
    ItemHistory,
    ItemKind,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
STATUSES = ("Backlog", "In Progress", "Code Review", "Blocked", "Done", "Won't Do")
REVIEWERS = ("ana", "bo", "renovate[bot]")

texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
statuses = st.one_of(st.sampled_from(STATUSES), texts)
crowded = st.datetimes(datetime(2026, 1, 1), datetime(2026, 3, 1), timezones=st.just(UTC))
anywhere = st.datetimes(timezones=st.just(UTC))
instants = st.one_of(crowded, anywhere)
stages = st.sampled_from(Stage)


def item(team: str, n: int) -> WorkItem:
    key = f"K-{n}"  # one digit: every database collation orders these ids alike
    return WorkItem(
        id=f"test:issue:{key}",
        team=team,
        source="test",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Title of {key}",
        status="In Progress",
        stage=Stage.ACTIVE,
        created_at=T0,
        updated_at=T0,
    )


def history_of(work_item: WorkItem) -> st.SearchStrategy[ItemHistory]:
    """A random history of ``work_item``: up to six events of each kind."""
    item_id = st.just(work_item.id)
    moves = st.builds(
        Transition, item_id, instants, st.none() | statuses, statuses, st.none() | stages, stages
    )
    flags = st.builds(FlagChange, item_id, instants, st.booleans(), st.booleans())
    reviews = st.builds(
        ReviewEvent,
        item_id,
        instants,
        st.sampled_from(ReviewState),
        st.one_of(st.none(), st.sampled_from(REVIEWERS), texts),
    )
    return st.builds(
        ItemHistory,
        st.just(work_item),
        st.lists(moves, max_size=6).map(tuple),
        st.lists(flags, max_size=6).map(tuple),
        st.lists(reviews, max_size=6).map(tuple),
    )


@st.composite
def histories(draw: st.DrawFn, team: str) -> list[ItemHistory]:
    """Up to six items of ``team`` (ids ``test:issue:K-0``...), each with a random history."""
    count = draw(st.integers(0, 6))
    return [draw(history_of(item(team, n))) for n in range(count)]


def snapshot_of(team: str, saved: Iterable[ItemHistory], statuses: Sequence[str] = ()) -> Snapshot:
    """What loading ``team`` must give once ``saved`` is stored: every item and event as given."""
    ordered = sorted(saved, key=lambda h: h.item.id)
    return Snapshot(
        team=team,
        items=[h.item for h in ordered],
        transitions={h.item.id: list(h.transitions) for h in ordered if h.transitions},
        flags={h.item.id: list(h.flags) for h in ordered if h.flags},
        reviews={h.item.id: list(h.reviews) for h in ordered if h.reviews},
        deployments=[],
        pipeline_runs=[],
        incidents=[],
        statuses=tuple(statuses),
    )
