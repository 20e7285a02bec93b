"""Alembic environment: migrations run on the connection ``upgrade(engine)`` passes in."""

from __future__ import annotations

from alembic import context

from adapters.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run gigcore migrations through adapters.sql.migrations.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copy-and-move; batch mode writes migrations that way.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
