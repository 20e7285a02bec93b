"""Escrow worlds (``tests.unit.escrow.world.EscrowWorld``) over the SQL adapters: the
whole graph as ``entrypoints.container.build`` wires it, on a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.shared.time import ManualClock
from entrypoints.container import Runtime, build
from entrypoints.settings import Settings

POOL_SIZE = 20  # connections (plus as many overflow): room for every racing thread


@contextmanager
def sql_runtime(url: str, clock: ManualClock) -> Iterator[Runtime]:
    """A started runtime over ``url`` (migrated), stopped on exit."""
    runtime = build(Settings(database_url=url, auto_migrate="true", db_pool_size=POOL_SIZE), clock=clock)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()
