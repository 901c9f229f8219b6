"""The read-ahead and ordered thread map the Jira source overlaps its requests with."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from integrations.jira.pipeline import ordered_map, read_ahead


def test_read_ahead_yields_everything_in_order_and_then_the_error() -> None:
    def numbers() -> Iterator[int]:
        yield from range(5)
        raise RuntimeError("page 6 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 6 failed"):
        for n in read_ahead(numbers(), depth=2, join_timeout=5):
            got.append(n)
    assert got == [0, 1, 2, 3, 4]


def test_read_ahead_stops_its_thread_when_the_consumer_stops() -> None:
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    before = threading.active_count()
    reader = read_ahead(endless(), depth=3, join_timeout=5)
    assert [next(reader) for _ in range(4)] == [0, 1, 2, 3]
    reader.close()
    assert threading.active_count() == before
    assert len(produced) <= 4 + 3 + 1  # never more than ``depth`` ahead (+ the one in hand)


def test_ordered_map_keeps_the_order_when_later_items_finish_first() -> None:
    third_done = threading.Event()
    finished = []

    def work(n: int) -> int:
        if n == 0:
            assert third_done.wait(5)  # item 0 ends only after item 2 did
        finished.append(n)
        if n == 2:
            third_done.set()
        return n * 10

    assert list(ordered_map(work, range(5), workers=3)) == [0, 10, 20, 30, 40]
    assert finished.index(2) < finished.index(0)


def test_ordered_map_raises_an_error_at_its_turn() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise ValueError("batch 2 failed")
        return n

    results = ordered_map(work, range(6), workers=2)
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ValueError, match="batch 2 failed"):
        next(results)
