import pytest

from tests.unit.escrow.world import EscrowWorld

from .suites.escrow_race import EscrowRaceContract


class TestMemoryEscrowRace(EscrowRaceContract):
    @pytest.fixture
    def world(self) -> EscrowWorld:
        return EscrowWorld.in_memory()
