import pytest

from tests.unit.escrow.world import EscrowWorld

from .suites.escrow_race import EscrowRaceContract, TimerWorkersContract


class TestMemoryEscrowRace(EscrowRaceContract):
    @pytest.fixture
    def world(self) -> EscrowWorld:
        return EscrowWorld.in_memory()


class TestMemoryTimerWorkers(TimerWorkersContract):
    @pytest.fixture
    def world(self) -> EscrowWorld:
        return EscrowWorld.in_memory()
