"""Second review of CapturePayment: the timer and the payer's request capture one payment
at once. The provider captures once (one key); whatever we learnt meanwhile, its answer
"captured" is money it took and must reach the wallet, once ("captured" outranks
"failed", as for every other fact about a capture)."""

from __future__ import annotations

import pytest

from core.payments.domain import (
    CaptureRequest,
    ChargeResult,
    EntryKinds,
    PaymentStatus,
    ProviderStatus,
    resolve_delay,
)
from core.shared.gateways import GatewayDeclined
from tests.unit.payments.world import PaymentsWorld, client

alice = client("alice")


def test_a_capture_answered_captured_after_a_racing_refusal_failed_the_payment_is_still_credited_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = PaymentsWorld()
    gateway = world.gateways["stripe"]
    gateway.next_status = ProviderStatus.AUTHORIZED
    view = world.top_up(alice, 1_000)
    assert view.status is PaymentStatus.AUTHORIZED
    original = gateway.capture
    racing: list[bool] = []

    def timer_call(request: CaptureRequest) -> ChargeResult:
        if racing:  # the payer's call while the timer's is in flight: refused ("in progress")
            raise GatewayDeclined("stripe", "PREVIOUS_REQUEST_IN_PROGRESS")
        racing.append(True)
        # Meanwhile the payer is back: refused, and the lookup (before the timer's capture
        # lands) says "not captured", so the payer's request fails the payment.
        assert world.capture(alice, view.payment_id).status is PaymentStatus.FAILED
        return original(request)  # the timer's call lands: the provider captured

    monkeypatch.setattr(gateway, "capture", timer_call)
    world.run_captures()

    assert gateway.captures == [view.provider_reference]  # the provider took the money
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000
    assert world.clearing_balance("stripe") == -1_000
    assert world.entries_of_kind(EntryKinds.CAPTURE) == 1
    world.run_captures()  # nothing more to do, nothing posted twice
    assert world.entries_of_kind(EntryKinds.CAPTURE) == 1 and world.wallet_balance(alice) == 1_000


def test_a_refusal_while_the_provider_is_still_capturing_does_not_fail_the_payment() -> None:
    world = PaymentsWorld()
    gateway = world.gateways["stripe"]
    gateway.next_status = ProviderStatus.AUTHORIZED
    view = world.top_up(alice, 1_000)
    reference = view.provider_reference
    assert reference is not None
    # Captured by an earlier call whose answer was lost, and still pending at the provider
    # (a PayPal capture PENDING, a Stripe intent "processing"): a second capture is refused.
    gateway.settle(reference, ProviderStatus.PROCESSING)

    world.run_captures()

    assert world.payment(view.payment_id).status is PaymentStatus.AUTHORIZED  # not FAILED: money is coming
    gateway.settle(reference, ProviderStatus.CAPTURED)  # the provider finishes; its webhook is lost
    world.clock.advance(resolve_delay(1))
    world.run_captures()

    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000 and world.entries_of_kind(EntryKinds.CAPTURE) == 1
