"""Alembic environment: migrates the connection the store hands over, or the configured URL
(``alembic -c alembic.ini upgrade head`` / ``revision --autogenerate`` from the repository)."""

from alembic import context
from sqlalchemy import create_engine

from pipeline.store.tables import metadata

config = context.config


def _run(connection) -> None:
    # Batch mode: SQLite cannot ALTER most things, so Alembic copies the table instead.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own_connection:
        _run(own_connection)
