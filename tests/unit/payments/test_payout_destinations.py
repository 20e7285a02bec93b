"""Payout destinations: each provider's format, the policy rows, and the payout gateway
that pays only a registered destination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWork
from core.identity.domain import PERMISSIONS, SYSTEM_ACTIONS
from core.payments.destinations import DestinationActions, PayoutDestination, masked, valid_destination
from core.payments.domain import PayoutRequest, PayoutResult
from core.shared.errors import DependencyUnavailable, InvalidInput
from core.shared.gateways import GatewayDeclined, GatewayUnavailable
from core.shared.ids import UserId
from core.shared.money import Money
from core.shared.time import ManualClock
from entrypoints.payments_setup import ProviderPayoutGateway

T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "given", "stored"),
    [
        ("stripe", "acct_1Nv0FGQ9RKHgCVdK", "acct_1Nv0FGQ9RKHgCVdK"),
        ("adyen", "SE322JV223222F5GKQZN8Q4NR", "SE322JV223222F5GKQZN8Q4NR"),
        ("adyen", "BA32272223222B5CTDQPM6W2H", "BA32272223222B5CTDQPM6W2H"),
        ("paypal", "payee.one+gigs@example.co.uk", "payee.one+gigs@example.co.uk"),
        ("paypal", "N8LR5SGZ3F6AG", "PAYPAL_ID:N8LR5SGZ3F6AG"),
        ("paypal", "PAYPAL_ID:N8LR5SGZ3F6AG", "PAYPAL_ID:N8LR5SGZ3F6AG"),
    ],
)
def test_a_value_in_the_providers_format_is_stored_normalised(provider: str, given: str, stored: str) -> None:
    assert valid_destination(provider, given) == stored


@pytest.mark.parametrize(
    ("provider", "given"),
    [
        ("stripe", "acct_"),
        ("stripe", "acct_12-3"),
        ("stripe", "ba_123"),
        ("stripe", " acct_123"),
        ("adyen", "SE_usr_1"),
        ("adyen", "se322jv223222f5gkqzn8q4nr"),
        ("adyen", "acct_123"),
        ("paypal", "not-an-email"),
        ("paypal", "a@b"),
        ("paypal", "PAYPAL_ID:someone@example.com"),
        ("paypal", "x" * 250 + "@example.com"),
        ("paypal", ""),
        ("bank", "DE89370400440532013000"),
        ("stripe", 123),
    ],
)
def test_a_value_not_in_the_providers_format_is_refused(provider: str, given: Any) -> None:
    with pytest.raises(InvalidInput):
        valid_destination(provider, given)


def test_masked_keeps_enough_to_recognise_and_hides_the_rest() -> None:
    assert masked("payee@example.com") == "p***@example.com"
    assert masked("acct_1Nv0FGQ9RKHgCVdK") == "acct_1Nv0FGQ9RKHg****"
    assert masked("short") == "****"


def test_every_destination_action_is_in_the_policy_and_none_is_the_systems() -> None:
    assert set(PERMISSIONS) >= DestinationActions.ALL
    assert not SYSTEM_ACTIONS & DestinationActions.ALL


class RecordingGateway:
    name = "stripe"

    def __init__(self) -> None:
        self.sent: list[PayoutRequest] = []

    def payout(self, request: PayoutRequest) -> PayoutResult:
        self.sent.append(request)
        return PayoutResult(reference=f"tr_{len(self.sent)}", status="pending")


def store_with(*destinations: PayoutDestination) -> MemoryStore:
    store = MemoryStore()
    with MemoryUnitOfWork(store) as uow:
        for destination in destinations:
            uow.payout_destinations.put(destination)
        uow.commit()
    return store


def test_the_gateway_pays_the_destination_registered_for_its_provider() -> None:
    store = store_with(
        PayoutDestination(payee_id=UserId("usr_1"), provider="stripe", value="acct_1A", created_at=T0, updated_at=T0),
        PayoutDestination(payee_id=UserId("usr_1"), provider="paypal", value="a@b.co", created_at=T0, updated_at=T0),
    )
    provider = RecordingGateway()
    gateway = ProviderPayoutGateway(provider, lambda: MemoryUnitOfWork(store), ManualClock(T0))  # type: ignore[arg-type]

    reference = gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")

    assert reference == "tr_1"
    assert [(r.destination, r.idempotency_key) for r in provider.sent] == [("acct_1A", "pyt_1")]


def test_a_payee_without_a_destination_at_the_provider_is_declined_before_it_is_asked() -> None:
    store = store_with(
        PayoutDestination(payee_id=UserId("usr_1"), provider="paypal", value="a@b.co", created_at=T0, updated_at=T0)
    )
    provider = RecordingGateway()
    gateway = ProviderPayoutGateway(provider, lambda: MemoryUnitOfWork(store), ManualClock(T0))  # type: ignore[arg-type]

    with pytest.raises(GatewayDeclined) as declined:
        gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")

    assert declined.value.reason == "no payout destination registered for stripe"
    assert provider.sent == []


def test_a_database_that_cannot_answer_is_a_retryable_unavailable_gateway() -> None:
    def unreachable() -> Any:
        raise DependencyUnavailable("database")

    provider = RecordingGateway()
    gateway = ProviderPayoutGateway(provider, unreachable, ManualClock(T0))  # type: ignore[arg-type]

    with pytest.raises(GatewayUnavailable):
        gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")
    assert provider.sent == []


def test_a_retry_pays_the_destination_the_first_attempt_pinned_not_a_later_one() -> None:
    first = PayoutDestination(
        payee_id=UserId("usr_1"), provider="stripe", value="acct_1A", created_at=T0, updated_at=T0
    )
    store = store_with(first)
    provider = RecordingGateway()
    gateway = ProviderPayoutGateway(provider, lambda: MemoryUnitOfWork(store), ManualClock(T0))  # type: ignore[arg-type]
    gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")
    with MemoryUnitOfWork(store) as uow:
        uow.payout_destinations.put(attrs.evolve(first, value="acct_2B"))
        uow.commit()

    gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")  # the retry
    gateway.send("pyt_2", "usr_1", Money.of(500, "EUR"), idempotency_key="pyt_2")  # the next payout

    assert [(r.idempotency_key, r.destination) for r in provider.sent] == [
        ("pyt_1", "acct_1A"),
        ("pyt_1", "acct_1A"),
        ("pyt_2", "acct_2B"),
    ]


def test_a_pin_for_another_provider_is_never_sent_to_this_one() -> None:
    store = store_with(
        PayoutDestination(payee_id=UserId("usr_1"), provider="paypal", value="a@b.co", created_at=T0, updated_at=T0),
        PayoutDestination(payee_id=UserId("usr_1"), provider="stripe", value="acct_1A", created_at=T0, updated_at=T0),
    )
    with MemoryUnitOfWork(store) as uow:
        uow.payout_destinations.pin("pyt_1", "usr_1", "paypal", at=T0)
        uow.commit()
    provider = RecordingGateway()
    gateway = ProviderPayoutGateway(provider, lambda: MemoryUnitOfWork(store), ManualClock(T0))  # type: ignore[arg-type]

    with pytest.raises(GatewayUnavailable):
        gateway.send("pyt_1", "usr_1", Money.of(1_000, "EUR"), idempotency_key="pyt_1")
    assert provider.sent == []
