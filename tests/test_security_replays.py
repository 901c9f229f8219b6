"""Replay protection in the database, on SQLite and PostgreSQL: one acceptance per signature.

Each :class:`RequestGuard` here stands for one ``vsm serve`` process: they share nothing but the
database. The signatures are kept as long as a replay could still pass the five-minute window.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, select

from bot.slack.receiving.guard import UNAUTHORIZED, UNAVAILABLE, RequestGuard
from storage.replays import KEEP, SEEN_REQUESTS, first_sighting
from tests.slack_harness import SIGNING_SECRET, signed_headers

FORM = "application/x-www-form-urlencoded"
T0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def environ(body: bytes, **sign: Any) -> dict[str, Any]:
    headers = signed_headers(body, FORM, **sign)
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": FORM,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
        "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
        "wsgi.input": io.BytesIO(body),
    }


def replay(request: dict[str, Any], body: bytes) -> dict[str, Any]:
    return {**request, "wsgi.input": io.BytesIO(body)}


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(SEEN_REQUESTS)).scalar_one()


def test_a_request_accepted_by_one_process_is_a_replay_for_another(engine) -> None:
    body = b"command=%2Fvsm&text=unsubscribe"
    request = environ(body)
    one, other = RequestGuard(SIGNING_SECRET, engine), RequestGuard(SIGNING_SECRET, engine)

    assert one.screen(replay(request, body)) is None
    assert other.screen(replay(request, body)) == UNAUTHORIZED
    assert one.screen(replay(request, body)) == UNAUTHORIZED


def test_the_same_request_racing_into_many_processes_is_accepted_once(engine) -> None:
    body = b"command=%2Fvsm&text=alerts+off"
    request = environ(body)
    guards = [RequestGuard(SIGNING_SECRET, engine) for _ in range(8)]
    start = threading.Barrier(len(guards))
    outcomes: list[object] = []

    def race(guard: RequestGuard) -> None:
        start.wait()
        outcomes.append(guard.screen(replay(request, body)))

    threads = [threading.Thread(target=race, args=(g,)) for g in guards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(None) == 1
    assert outcomes.count(UNAUTHORIZED) == len(guards) - 1


def test_signatures_are_kept_while_a_replay_could_pass_then_purged(engine) -> None:
    assert first_sighting(engine, "v0=a", T0) is True
    assert first_sighting(engine, "v0=a", T0 + KEEP - timedelta(seconds=1)) is False

    assert first_sighting(engine, "v0=b", T0 + KEEP + timedelta(seconds=1)) is True

    assert stored(engine) == 1, "the signature seen before the kept span is gone"
    assert first_sighting(engine, "v0=b", T0 + KEEP + timedelta(seconds=2)) is False


def test_a_request_stamped_ahead_is_still_a_replay_after_five_minutes(engine) -> None:
    body = b"command=%2Fvsm&text=mute+stale_item"
    ahead = int(time.time()) + 4 * 60
    request = environ(body, timestamp=ahead)
    eight_minutes_later = RequestGuard(SIGNING_SECRET, engine, clock=lambda: time.time() + 8 * 60)

    assert RequestGuard(SIGNING_SECRET, engine).screen(replay(request, body)) is None
    assert eight_minutes_later.screen(replay(request, body)) == UNAUTHORIZED


def test_a_request_that_cannot_be_checked_for_replay_is_refused_for_now(tmp_path) -> None:
    body = b"command=%2Fvsm&text=status"
    unmigrated = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")

    refused = RequestGuard(SIGNING_SECRET, unmigrated).screen(environ(body))

    assert refused == UNAVAILABLE, "Slack retries; the request is not handled unchecked"
