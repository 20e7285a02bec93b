import pytest
from sqlalchemy import Engine

from adapters.sql.payments import SqlRoutingState

from .harness import SqliteAdapter
from .suites.payments import MakeRoutingState, PaymentsContract, ProviderEventInboxContract, RoutingStateContract


class TestSqlitePayments(SqliteAdapter, PaymentsContract):
    pass


class TestSqliteProviderEventInbox(SqliteAdapter, ProviderEventInboxContract):
    pass


class TestSqliteRoutingState(SqliteAdapter, RoutingStateContract):
    @pytest.fixture
    def make_routing_state(self, engine: Engine) -> MakeRoutingState:
        return lambda: SqlRoutingState(engine)
