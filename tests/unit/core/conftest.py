from __future__ import annotations

import pytest

from tests.unit.core.world import World


@pytest.fixture
def world() -> World:
    return World.in_memory()
