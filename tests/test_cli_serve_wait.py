"""``vsm serve`` waits for a database server that is down at start, backing off, then goes on."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import closing

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from bot.cli_state import CliState
from bot.commands import serve
from storage.db import current_revision, make_engine
from tests.conftest import DEMO_CONFIG, POSTGRES_URL

CAPPED_WAITS = [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Waits:
    """An injected sleep that records each wait and runs ``then`` at the ``at``-th one."""

    def __init__(self, at: int, then) -> None:
        self.seconds: list[float] = []
        self.at, self.then = at, then

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if len(self.seconds) == self.at:
            self.then()


def interrupt() -> None:
    raise KeyboardInterrupt


def wait_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == serve.__name__]


def test_serve_waits_for_postgresql_with_backoff_up_to_a_cap(closed_port, caplog) -> None:
    waits = Waits(len(CAPPED_WAITS), interrupt)  # Ctrl-C after the eighth wait
    state = CliState(DEMO_CONFIG, f"postgresql://vsm@127.0.0.1:{closed_port}/vsm", sleep=waits)

    result = CliRunner().invoke(serve.command, [], obj=state)

    assert result.exit_code == 1  # click's "Aborted!" on Ctrl-C
    assert waits.seconds == CAPPED_WAITS
    lines = wait_lines(caplog)
    assert len(lines) == len(CAPPED_WAITS)
    assert all(f"PostgreSQL at 127.0.0.1:{closed_port}/vsm" in line for line in lines)
    assert "attempt 3, trying again in 4 s" in lines[2]
    assert "\n" not in "".join(lines)


def test_serve_does_not_wait_for_a_broken_sqlite_file(tmp_path, caplog) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    waits = Waits(1, interrupt)

    result = CliRunner().invoke(
        serve.command, [], obj=CliState(DEMO_CONFIG, f"sqlite:///{notes}", sleep=waits)
    )

    assert isinstance(result.exception, DatabaseError)  # at once (the vsm group explains it)
    assert waits.seconds == [] and wait_lines(caplog) == []


def forward(listener: socket.socket, host: str, port: int) -> None:
    """Accept connections on ``listener`` and relay each to ``host:port``."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # the listener was closed
            return
        server = socket.create_connection((host, port))
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=relay, args=(a, b), daemon=True).start()


def relay(source: socket.socket, target: socket.socket) -> None:
    with closing(source), closing(target):
        while data := source.recv(65536):
            target.sendall(data)


@pytest.fixture
def schema() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("VSM_TEST_POSTGRES_URL is not set")
    name = f"vsm_wait_{os.getpid()}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
def test_the_database_that_comes_up_later_is_used(closed_port, schema, caplog) -> None:
    real = make_url(POSTGRES_URL or "")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def come_up() -> None:  # PostgreSQL starts listening on the port during the third wait
        listener.bind(("127.0.0.1", closed_port))
        listener.listen()
        target = (real.host or "127.0.0.1", real.port or 5432)
        threading.Thread(target=forward, args=(listener, *target), daemon=True).start()

    url = real.set(port=closed_port, query={"options": f"-csearch_path={schema}"})
    waits = Waits(3, come_up)
    state = CliState(DEMO_CONFIG, url.render_as_string(hide_password=False), sleep=waits)
    try:
        runtime = serve.runtime_when_reachable(state)
        revision = current_revision(runtime.engine)
        runtime.engine.dispose()
    finally:
        listener.close()

    assert waits.seconds == [1, 2, 4]
    assert len(wait_lines(caplog)) == 3
    assert runtime.engine.url.port == closed_port
    assert revision is not None  # migrated through the port that came up
