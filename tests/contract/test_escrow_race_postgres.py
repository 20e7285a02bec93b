from collections.abc import Iterator

import pytest

from core.shared.time import ManualClock
from tests.unit.escrow.world import EscrowWorld

from .escrow_world import sql_runtime
from .suites.escrow_race import EscrowRaceContract, TimerWorkersContract


@pytest.mark.postgres
class TestPostgresEscrowRace(EscrowRaceContract):
    @pytest.fixture
    def world(self, postgres_url: str) -> Iterator[EscrowWorld]:
        clock = ManualClock()
        with sql_runtime(postgres_url, clock) as runtime:
            yield EscrowWorld.over(runtime, clock)


@pytest.mark.postgres
class TestPostgresTimerWorkers(TimerWorkersContract):
    @pytest.fixture
    def world(self, postgres_url: str) -> Iterator[EscrowWorld]:
        clock = ManualClock()
        with sql_runtime(postgres_url, clock) as runtime:
            yield EscrowWorld.over(runtime, clock)
