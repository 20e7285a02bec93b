from datetime import timedelta

from .builders import T0
from .harness import MakeUow, PostgresAdapter
from .suites.timers import KIND, TimersContract, a_timer, schedule


class TestPostgresTimers(PostgresAdapter, TimersContract):
    def test_due_skips_timers_another_transaction_is_firing(self, make_uow: MakeUow) -> None:
        """Pollers working at once take disjoint batches instead of queueing (SKIP LOCKED)."""
        busy, free = a_timer(1), a_timer(2)
        schedule(make_uow, busy, free)
        with make_uow() as firing:
            assert firing.timers.claim(busy.id) is not None
            with make_uow() as polling:
                due = polling.timers.due(T0 + timedelta(minutes=5), kinds=[KIND], limit=10)
        assert [t.id for t in due] == [free.id]
