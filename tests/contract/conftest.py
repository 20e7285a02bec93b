"""Databases for the contract tests.

SQLite: a fresh migrated file per test. PostgreSQL: a fresh schema per test (selected
through ``search_path`` in the URL), migrated with ``upgrade`` and dropped afterwards, so
tests never see each other's rows. The server is GIGCORE_TEST_POSTGRES_URL; when it is
unreachable the PostgreSQL tests skip, or fail when CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from adapters.sql.engine import build_engine, ping
from core.shared.errors import DependencyUnavailable

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str:
    return os.environ.get("GIGCORE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test server's default schema, or a skip (a failure when CI=true)."""
    url = _postgres_url()
    engine = build_engine(url, pool_size=2)
    try:
        ping(engine)
    except DependencyUnavailable as error:
        engine.dispose()
        cause = str(error.__cause__ or error).strip().splitlines()[0]
        reason = f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable: {cause}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a fresh, empty schema on the test server."""
    schema = f"gigcore_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # A session time zone far from UTC, so that a timestamp read back unconverted shows.
    options = f"-csearch_path={schema} -cTimeZone=Asia/Kathmandu"
    url = make_url(_postgres_url()).update_query_dict({"options": options})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # A directory that does not exist yet: the engine creates it.
    return f"sqlite:///{tmp_path / 'data' / 'gigcore.sqlite3'}"
