"""Fault drills against the machine's real PostgreSQL and RabbitMQ (issue 4, point 8).

Each test gets a fresh PostgreSQL database (drills terminate their database's backends,
so a schema would not do) and a fresh RabbitMQ vhost, both deleted afterwards, so the
drills run side by side under ``pytest -n 2``. Without PostgreSQL, RabbitMQ or the
rights to ``rabbitmqctl`` they skip with a one-line reason; with CI=true they fail.
Every wait is bounded (``wait_until``) and every worker subprocess is killed at the end
of its test whatever happened.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from entrypoints.container import Runtime, build
from entrypoints.settings import Settings
from tests.support.services import Unavailable, finish_drops, postgres_database, rabbitmq_vhost

AUDITOR = "tests.support.consumers:drill_auditor"
# Every drill's hard bound (its waits are bounded well inside it): past this the test fails
# with a TimeoutError and its fixtures kill whatever it started.
DRILL_TIMEOUT_SECONDS = 120

pytestmark = pytest.mark.postgres


def _unavailable(error: Unavailable) -> None:
    reason = str(error).splitlines()[0]
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


class DrillTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _hard_timeout() -> Iterator[None]:
    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise DrillTimeout(f"the drill ran longer than {DRILL_TIMEOUT_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DRILL_TIMEOUT_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session", autouse=True)
def _drop_databases_at_the_end() -> Iterator[None]:
    yield
    finish_drops()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped after the test."""
    try:
        context = postgres_database()
        url = context.__enter__()
    except Unavailable as error:
        _unavailable(error)
        raise
    try:
        runtime = build(Settings(database_url=url, auto_migrate="true", db_pool_size=2))
        runtime.start()  # migrates
        runtime.stop()
        yield url
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A fresh RabbitMQ vhost's URL, deleted (queues and connections too) after the test."""
    try:
        context = rabbitmq_vhost()
        url = context.__enter__()
    except Unavailable as error:
        _unavailable(error)
        raise
    try:
        yield url
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """An engine for the drill's own checks (plain SQL); pre-pinged, as drills kill its connections."""
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"), pool_size=2, pool_pre_ping=True)
    yield engine
    engine.dispose()


def producer_settings(database_url: str, broker_url: str, **overrides: Any) -> Settings:
    """The settings of the API side of the drill: same database and broker as the worker,
    so it leaves events to the worker (no in-process dispatch)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "broker_url": broker_url,
        "extra_consumers": AUDITOR,
        "db_pool_size": 4,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def producer(database_url: str, broker_url: str) -> Iterator[Runtime]:
    runtime = build(producer_settings(database_url, broker_url))
    runtime.start()
    yield runtime
    runtime.stop()
