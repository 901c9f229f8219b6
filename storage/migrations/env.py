"""Alembic environment: runs migrations on the engine that storage.db hands over."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool, text

from storage.tables import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK_CLASS = 0x76736D6D  # "vsmm"; the second key is the schema's hash


def serialize_migrations(connection: Connection) -> None:
    """On PostgreSQL, wait for any other process migrating this schema (until our commit)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
            {"key": MIGRATION_LOCK_CLASS},
        )


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            serialize_migrations(connection)
            context.run_migrations()
        connection.commit()


run_migrations()
