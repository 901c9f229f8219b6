"""Webhook deliveries and health (storage.webhooks), and migration 0012, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from storage.db import alembic_config, current_revision, upgrade
from storage.webhooks import (
    KEEP,
    WebhookHealth,
    load_webhook_health,
    mark_fallback_told,
    record_received,
    record_reconciliation,
    remember_delivery,
)
from tests.conftest import database_at

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_delivery_is_new_once_per_source(engine: Engine) -> None:
    assert remember_delivery(engine, "github", "d-1", T0) is True
    assert remember_delivery(engine, "github", "d-1", T0 + timedelta(seconds=5)) is False
    assert remember_delivery(engine, "jira", "d-1", T0) is True  # another source, another id
    assert remember_delivery(engine, "github", "d-2", T0) is True


def test_deliveries_older_than_a_week_are_pruned(engine: Engine) -> None:
    remember_delivery(engine, "github", "old", T0)
    remember_delivery(engine, "github", "recent", T0 + KEEP - timedelta(hours=1))

    later = T0 + KEEP + timedelta(minutes=1)
    assert remember_delivery(engine, "github", "new", later) is True

    with engine.connect() as conn:
        ids = conn.execute(text("SELECT delivery_id FROM webhook_deliveries")).scalars().all()
    assert sorted(ids) == ["new", "recent"]
    assert remember_delivery(engine, "github", "old", later) is True  # forgotten: new again
    assert remember_delivery(engine, "github", "recent", later) is False


def test_health_rows_keep_each_fact_apart(engine: Engine) -> None:
    record_received(engine, ["alpha/jira", "beta/jira"], T0)
    record_reconciliation(engine, "alpha/jira", 3, T0 + timedelta(minutes=15))
    mark_fallback_told(engine, "gamma/github", T0 + timedelta(hours=1))
    record_received(engine, ["alpha/jira"], T0 + timedelta(minutes=20))

    assert load_webhook_health(engine) == {
        "alpha/jira": WebhookHealth(
            "alpha/jira", T0 + timedelta(minutes=20), 3, T0 + timedelta(minutes=15), None
        ),
        "beta/jira": WebhookHealth("beta/jira", T0, 0, None, None),
        "gamma/github": WebhookHealth("gamma/github", None, 0, None, T0 + timedelta(hours=1)),
    }


def test_a_reconciliation_replaces_the_previous_count(engine: Engine) -> None:
    record_reconciliation(engine, "alpha/jira", 4, T0)
    record_reconciliation(engine, "alpha/jira", 0, T0 + timedelta(minutes=15))

    health = load_webhook_health(engine)["alpha/jira"]
    assert (health.missed_records, health.reconciled_at) == (0, T0 + timedelta(minutes=15))


def test_no_health_before_any_webhook(engine: Engine) -> None:
    assert load_webhook_health(engine) == {}


# --- migration 0012 -------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database (SQLite file, or PostgreSQL schema) at the revision before 0012."""
    with database_at("0011", request.param, tmp_path) as db:
        yield db


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migration_0012_adds_the_webhook_tables_and_drops_them_on_the_way_down(
    engine_at_0011: Engine,
) -> None:
    assert not tables(engine_at_0011) & {"webhook_deliveries", "webhook_health"}

    upgrade(engine_at_0011, "0012")
    assert current_revision(engine_at_0011) == "0012"
    remember_delivery(engine_at_0011, "github", "d-1", T0)
    record_received(engine_at_0011, ["alpha/github"], T0)

    command.downgrade(alembic_config(engine_at_0011), "0011")
    assert current_revision(engine_at_0011) == "0011"
    assert not tables(engine_at_0011) & {"webhook_deliveries", "webhook_health"}

    upgrade(engine_at_0011, "0012")  # and up again, empty
    assert remember_delivery(engine_at_0011, "github", "d-1", T0) is True
    assert load_webhook_health(engine_at_0011) == {}
