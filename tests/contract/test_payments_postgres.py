import pytest
from sqlalchemy import Engine

from adapters.sql.payments import SqlRoutingState

from .harness import PostgresAdapter
from .suites.payments import MakeRoutingState, PaymentsContract, ProviderEventInboxContract, RoutingStateContract


class TestPostgresPayments(PostgresAdapter, PaymentsContract):
    pass


class TestPostgresProviderEventInbox(PostgresAdapter, ProviderEventInboxContract):
    pass


class TestPostgresRoutingState(PostgresAdapter, RoutingStateContract):
    @pytest.fixture
    def make_routing_state(self, engine: Engine) -> MakeRoutingState:
        return lambda: SqlRoutingState(engine)
