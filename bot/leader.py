"""Who leads the scheduler: one process per database holds a lock; the others stand by.

- PostgreSQL: the leader holds a session advisory lock (``pg_try_advisory_lock``, keyed by the
  schema, so deployments sharing a database do not block each other) on a connection of its
  own. The lock is a lease: the session's ``idle_session_timeout`` is ``lease`` (30 s by
  default) and the leader renews it (a query on that connection) :data:`RENEWALS_PER_LEASE`
  times per lease, so PostgreSQL ends the session of a leader that stops making progress
  (frozen, stalled, cut off), and the lock with it, not only of one that dies.
- SQLite: the leader holds an exclusive ``flock`` on ``<database file>.scheduler.lock``.

:class:`~bot.scheduler.BotScheduler` calls :meth:`LeaderLock.acquire` on every leader tick.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from datetime import timedelta

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
ADVISORY_LOCK_CLASS = 0x76736D62  # "vsmb"; the second key is the schema's hash
LEASE = timedelta(seconds=30)
RENEWALS_PER_LEASE = 3


class LeaderLock:
    """Who runs the scheduler: the holder of a PostgreSQL advisory lock or of a lock file.

    On PostgreSQL the lock's session ends (and the lock with it) once it has been idle for
    ``lease``: whoever holds the lead must call :meth:`acquire` more often than that.
    """

    def __init__(self, engine: Engine, lease: timedelta = LEASE) -> None:
        self.engine = engine
        self.lease = lease
        self._connection: Connection | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()

    @property
    def lock_file(self) -> str | None:
        """The lock file next to a SQLite database file (None for PostgreSQL or in-memory)."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return f"{database}.scheduler.lock"

    def describe(self) -> str:
        """What the lead is, for log messages."""
        if self.engine.dialect.name == "postgresql":
            return "the PostgreSQL advisory lock"
        return f"lock file {self.lock_file}" if self.lock_file else "an in-memory database"

    def holder(self) -> str:
        """Who holds the SQLite lock file (its pid), or an empty string when unknown."""
        path = self.lock_file
        if path is None:
            return ""
        try:
            with open(path, encoding="ascii") as file:
                return file.read().strip()
        except OSError:
            return ""

    def acquire(self) -> bool:
        """True when this process leads (checking that a lead it holds is still alive)."""
        with self._lock:
            if self.engine.dialect.name == "postgresql":
                return self._acquire_advisory_lock()
            path = self.lock_file
            return True if path is None else self._acquire_file(path)

    def _acquire_advisory_lock(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception as exc:
                log.warning("lost the scheduler lock: the connection to PostgreSQL broke (%s)", exc)
                self._forget_connection()
        # Autocommit: the lock belongs to the session, and no transaction stays open for hours.
        # Detached: the session ends with the lead, it never goes back to the pool.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()
        try:
            self._limit_idle(connection)
            query = text("SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))")
            if connection.execute(query, {"key": ADVISORY_LOCK_CLASS}).scalar():
                self._connection = connection
                return True
        except BaseException:
            connection.close()
            raise
        connection.close()
        return False

    def _limit_idle(self, connection: Connection) -> None:
        """PostgreSQL ends this session after ``lease`` without a query (PostgreSQL 14+)."""
        milliseconds = str(max(1, round(self.lease.total_seconds() * 1000)))
        limit = text("SELECT set_config('idle_session_timeout', :ms, false)")
        try:
            connection.execute(limit, {"ms": milliseconds})
        except DBAPIError:
            log.warning(
                "this PostgreSQL has no idle_session_timeout (before 14): a leader that stops "
                "making progress keeps the lead until its connection closes"
            )

    def _forget_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                log.debug("closing the broken lock connection failed", exc_info=True)
            self._connection = None

    def _acquire_file(self, path: str) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give up the lead (a process that dies loses it with its connection or file)."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._connection is not None:
            try:
                unlock = text("SELECT pg_advisory_unlock(:key, hashtext(current_schema()))")
                self._connection.execute(unlock, {"key": ADVISORY_LOCK_CLASS})
                self._connection.close()
            except Exception:
                log.warning("releasing the scheduler lock failed; it goes with the connection")
            self._connection = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
