"""Move this Python process's wall clock ahead, for the suite's "a year from now" run in CI.

With this folder on ``PYTHONPATH`` and ``VSM_TEST_CLOCK_AHEAD_DAYS`` set, every Python process
(pytest and each ``vsm`` process a test starts) reads a wall clock that many days ahead and
ticking, through time-machine. Monotonic clocks and sleeps are untouched, so timeouts and thread
waits behave as usual. A test whose outcome depends on today's date fails under it.
"""

from __future__ import annotations

import os

_DAYS = os.environ.get("VSM_TEST_CLOCK_AHEAD_DAYS")

if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    _travel = time_machine.travel(datetime.now(UTC) + timedelta(days=float(_DAYS)), tick=True)
    _travel.start()
