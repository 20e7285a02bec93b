"""Alembic migrations, run programmatically: no ``alembic.ini`` at run time.

``upgrade(engine)`` brings the database to the newest revision in one transaction (on
PostgreSQL under an advisory lock, so two processes starting at once do not both try);
``current_revision(engine)`` says where it stands. To write a new revision during
development, use ``alembic_config(connection)`` with ``alembic.command.revision``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from adapters.sql.errors import StorageFault, translated

HERE = Path(__file__).resolve().parent
# Any constant shared by every gigcore process; it names the advisory lock.
_PG_MIGRATION_LOCK = 0x67_69_67_63  # "gigc"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@translated
def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration. Idempotent. Raises DependencyUnavailable when the
    database cannot be reached, StorageFault when a migration would leave a foreign key
    broken (nothing is then committed)."""
    _migrate(engine, lambda config: command.upgrade(config, revision))


@translated
def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"``: an empty database), as ``upgrade``
    does them: in one transaction, under the same lock."""
    _migrate(engine, lambda config: command.downgrade(config, revision))


def _migrate(engine: Engine, run: Callable[[Config], None]) -> None:
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                run(alembic_config(connection))
            return
        # SQLite alters a table by rebuilding it (copy, drop, rename: Alembic's batch mode),
        # and refuses to drop a table that other tables refer to while foreign keys are on;
        # the pragma only takes effect outside a transaction. So: off, migrate, check every
        # reference before commit, and on again before the connection returns to the pool.
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                run(alembic_config(connection))
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise StorageFault(f"a migration would break a foreign key of table {broken[0]}")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


@translated
def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of gigcore."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
