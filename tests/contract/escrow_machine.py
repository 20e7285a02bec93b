"""The escrow state machine (``tests.unit.escrow.test_escrow_properties``) over a SQL
database that lives as long as its test class: one migrated database, a fresh world per
example.

Examples share the database, so each world keeps to its own: its users get unique
handles, its fee revenue counts from its own start, and timers an earlier example left
unfired are retired before it begins (marked fired as obsolete, so a clock jump in this
example never acts on another example's contracts). The invariants that read the whole
ledger (entries balance, totals are zero, no running balance is negative) keep reading
all of it, across examples.

``GIGCORE_HYPOTHESIS_EXAMPLES`` sets the example count (default 10 here: each example
runs some hundred use cases against the database).
"""

from __future__ import annotations

import os
import tempfile
import unittest
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import ClassVar

from attrs import define
from hypothesis import HealthCheck, settings
from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url

from adapters.sql.column_types import UtcDateTime
from adapters.sql.engine import build_engine, ping
from core.shared.actor import Actor, Persona
from core.shared.errors import DependencyUnavailable
from core.shared.time import ManualClock
from entrypoints.container import Runtime
from tests.unit.escrow.test_escrow_properties import EscrowMachine
from tests.unit.escrow.world import EscrowWorld

from .conftest import DEFAULT_POSTGRES_URL
from .escrow_world import sql_runtime

EXAMPLES = int(os.environ.get("GIGCORE_HYPOTHESIS_EXAMPLES", "10"))
MACHINE_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


_RETIRE_TIMERS = text("UPDATE timers SET fired_at = :now, outcome = 'obsolete' WHERE fired_at IS NULL").bindparams(
    bindparam("now", type_=UtcDateTime())
)


@define
class SharedDatabaseWorld(EscrowWorld):
    fee_baseline: int = 0

    def user(self, handle: str, *personas: Persona) -> Actor:
        return super().user(f"{handle}-{uuid.uuid4().hex[:10]}", *personas)

    def fee_revenue(self, currency: str = "EUR") -> int:
        return super().fee_revenue(currency) - self.fee_baseline


class SharedDatabase:
    """One runtime over one database for a whole test class; ``world()`` per example."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self.clock = ManualClock()
        self.runtime: Runtime | None = None

    def open(self, url: str) -> None:
        self.runtime = self._stack.enter_context(sql_runtime(url, self.clock))

    def close(self) -> None:
        self._stack.close()
        self.runtime = None

    def world(self) -> EscrowWorld:
        runtime = self.runtime
        assert runtime is not None, "the shared database is not open"
        with runtime.persistence.engine().begin() as connection:
            connection.execute(_RETIRE_TIMERS, {"now": self.clock.now()})
        world = SharedDatabaseWorld(runtime, self.clock)
        world.fee_baseline = EscrowWorld.fee_revenue(world)
        return world


def machine_on(database: SharedDatabase) -> type[EscrowMachine]:
    """The machine, making its worlds over ``database``, with this module's settings."""

    class SqlEscrowMachine(EscrowMachine):
        make_world = staticmethod(database.world)

    SqlEscrowMachine.TestCase.settings = MACHINE_SETTINGS
    return SqlEscrowMachine


class SharedDatabaseCase:
    """Mixed into the machine's generated ``TestCase``: the class's database is made and
    opened before its examples, closed and removed after them. Subclasses set
    ``database`` and ``location`` (a context manager yielding a database URL)."""

    database: ClassVar[SharedDatabase]
    location: ClassVar[Callable[[], AbstractContextManager[str]]]
    _resources: ClassVar[ExitStack]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()  # type: ignore[misc]
        cls._resources = ExitStack()
        try:
            cls.database.open(cls._resources.enter_context(cls.location()))
        except BaseException:
            cls._resources.close()
            raise
        cls._resources.callback(cls.database.close)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._resources.close()
        super().tearDownClass()  # type: ignore[misc]


@contextmanager
def sqlite_file() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="gigcore-machine-") as directory:
        yield f"sqlite:///{directory}/gigcore.sqlite3"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test server for a whole class, dropped afterwards; skips the
    class when the server is unreachable (fails it when CI=true), as ``conftest`` does."""
    admin_url = os.environ.get("GIGCORE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    admin = build_engine(admin_url, pool_size=1)
    try:
        try:
            ping(admin)
        except DependencyUnavailable as error:
            reason = f"PostgreSQL at {make_url(admin_url).render_as_string(hide_password=True)} is unreachable"
            if os.environ.get("CI", "").lower() == "true":
                raise AssertionError(reason) from error
            raise unittest.SkipTest(reason) from error
        schema = f"gigcore_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
