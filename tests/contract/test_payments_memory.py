import pytest

from adapters.memory.payments import MemoryRoutingState

from .harness import MemoryAdapter
from .suites.payments import MakeRoutingState, PaymentsContract, ProviderEventInboxContract, RoutingStateContract


class TestMemoryPayments(MemoryAdapter, PaymentsContract):
    pass


class TestMemoryProviderEventInbox(MemoryAdapter, ProviderEventInboxContract):
    pass


class TestMemoryRoutingState(RoutingStateContract):
    @pytest.fixture
    def make_routing_state(self) -> MakeRoutingState:
        state = MemoryRoutingState()  # one process: every handle is the same object
        return lambda: state
