from __future__ import annotations

import pytest

from core.shared.actor import Actor, Persona
from tests.unit.escrow.world import EscrowWorld


@pytest.fixture
def world() -> EscrowWorld:
    return EscrowWorld.in_memory()


@pytest.fixture
def client(world: EscrowWorld) -> Actor:
    return world.funded_client("client", 1_000_000)


@pytest.fixture
def provider(world: EscrowWorld) -> Actor:
    return world.user("provider", Persona.PROVIDER)


@pytest.fixture
def support(world: EscrowWorld) -> Actor:
    return world.user("support", Persona.SUPPORT)


@pytest.fixture
def finance(world: EscrowWorld) -> Actor:
    return world.user("finance", Persona.FINANCE)
