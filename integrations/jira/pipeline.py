"""Overlap network waits with local work: read an iterator ahead, map items in a few threads.

The Cloud search is a token chain: each page needs the previous one's token, so its requests
cannot run in parallel; reading it ahead in a thread keeps it going while the rest works. The
bulk changelog requests of successive batches are independent, so a few run at once (Atlassian
advises at most 5-10 concurrent requests), their results handed over in order. Mapping and
storage stay on the caller's thread, which keeps a page and its cursor in order.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Empty, Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()
_POLL_SECONDS = 0.1


def read_ahead(source: Iterator[T], depth: int, join_timeout: float) -> Iterator[T]:
    """Yield what ``source`` yields, producing up to ``depth`` items ahead in a thread.

    An exception in ``source`` is raised in the consumer at the point it occurred. When the
    consumer stops early, the thread stops after its current item (waited for at most
    ``join_timeout`` seconds).
    """
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for value in source:
                if not put((True, value)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
            return
        put((True, _DONE))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            try:
                ok, value = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                if not thread.is_alive() and queue.empty():
                    raise RuntimeError("the read-ahead thread ended without a result") from None
                continue
            if not ok:
                raise value
            if value is _DONE:
                return
            yield value
    finally:
        stop.set()
        thread.join(join_timeout)


def ordered_map(func: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """Yield ``func(item)`` for each item, in order, computing up to ``workers`` at once.

    An exception in ``func`` is raised when its result's turn comes, after the results before
    it. When the consumer stops early, work not started is cancelled and running work finishes.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ordered-map")
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
