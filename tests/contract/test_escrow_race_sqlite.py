from collections.abc import Iterator

import pytest

from core.shared.time import ManualClock
from tests.unit.escrow.world import EscrowWorld

from .escrow_world import sql_runtime
from .suites.escrow_race import EscrowRaceContract, TimerWorkersContract


class TestSqliteEscrowRace(EscrowRaceContract):
    @pytest.fixture
    def world(self, sqlite_url: str) -> Iterator[EscrowWorld]:
        clock = ManualClock()
        with sql_runtime(sqlite_url, clock) as runtime:
            yield EscrowWorld.over(runtime, clock)


class TestSqliteTimerWorkers(TimerWorkersContract):
    @pytest.fixture
    def world(self, sqlite_url: str) -> Iterator[EscrowWorld]:
        clock = ManualClock()
        with sql_runtime(sqlite_url, clock) as runtime:
            yield EscrowWorld.over(runtime, clock)
