from __future__ import annotations

import pytest

# The CLI's fixtures (a SQLite file per test, staff users), for test_cli.
from tests.unit.cli.conftest import cli, database_path, staff  # noqa: F401
from tests.unit.notifications.world import NotificationsWorld


@pytest.fixture
def world() -> NotificationsWorld:
    return NotificationsWorld.in_memory()
