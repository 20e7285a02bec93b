"""Alembic migrations, run programmatically: no ``alembic.ini`` at run time.

``upgrade(engine)`` brings the database to the newest revision in one transaction (on
PostgreSQL under an advisory lock, so two processes starting at once do not both try);
``current_revision(engine)`` says where it stands. To write a new revision during
development, use ``alembic_config(connection)`` with ``alembic.command.revision``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from adapters.sql.errors import translated

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
    database cannot be reached."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)


@translated
def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of gigcore."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
