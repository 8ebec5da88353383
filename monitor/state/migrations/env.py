"""Alembic environment: run with a connection handed over by `monitor.state.db.upgrade`."""

from __future__ import annotations

from alembic import context

from monitor.state.schema import source_metadata, state_metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `sunlight db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=[source_metadata, state_metadata],
    version_table=config.attributes.get("version_table", "sunlight_alembic_version"),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
