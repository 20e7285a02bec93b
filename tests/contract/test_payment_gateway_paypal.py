from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.paypal_gateway import PayPalConfig, PayPalGateway
from adapters.payments.paypal_rest import PayPalCredentials
from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderStatus, RefundStatus, charge_key
from core.payments.ports import PaymentGateway
from core.shared.ids import new_id
from tests.fakes.providers import FakePayPal
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, DECLINED_VAULT_ID

from .suites.payment_gateway import AMOUNT, READ_TIMEOUT, STALL_SECONDS, MakeGateway, PaymentGatewayContract


class TestPayPalGateway(PaymentGatewayContract):
    good_token = "8kk8451t"
    declining_token = DECLINED_VAULT_ID
    payout_destination = "payee@example.com"
    unknown_reference = "ORD9NEVERCREATED"
    unknown_refund_reference = "REF9NEVERCREATED"
    refund_words = {
        RefundStatus.PENDING: "PENDING",
        RefundStatus.SUCCEEDED: "COMPLETED",
        RefundStatus.FAILED: "FAILED",
    }
    secrets = (CLIENT_SECRET,)
    finds_by_payment_id = False  # orders are not searchable by custom_id: the webhook resolves
    payout_line_names = "payout_id"  # a T0001 line has the item's transaction id, not the batch id

    def authorised(self, gateway: PaymentGateway, fake: FakePayPal) -> tuple[ChargeRequest, str]:
        pid = PaymentId(new_id("pay"))
        request = ChargeRequest(
            payment_id=pid,
            amount=AMOUNT,
            method=PaymentMethod.PAYPAL,
            country="GB",
            payer_id="usr_payer",
            idempotency_key=charge_key(pid),
        )
        answer = gateway.charge(request)
        assert answer.status is ProviderStatus.REQUIRES_ACTION
        fake.approve(answer.provider_reference)  # the payer approves on PayPal's page
        assert gateway.lookup(pid, answer.provider_reference).status is ProviderStatus.AUTHORIZED  # type: ignore[union-attr]
        return request, answer.provider_reference

    @pytest.fixture
    def fake(self) -> Iterator[FakePayPal]:
        with FakePayPal.running(stall_seconds=STALL_SECONDS) as fake:
            yield fake

    @pytest.fixture
    def make_gateway(self) -> MakeGateway:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        return lambda url: PayPalGateway(PayPalConfig(credentials=credentials, base_url=url, read_timeout=READ_TIMEOUT))


def test_a_payment_without_a_vaulted_source_waits_for_the_payer() -> None:
    from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderStatus, charge_key
    from core.shared.money import Money

    with FakePayPal.running() as fake:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
        pid = PaymentId("pay_approve")
        result = gateway.charge(
            ChargeRequest(
                payment_id=pid,
                amount=Money.of(999, "USD"),
                method=PaymentMethod.PAYPAL,
                country="US",
                payer_id="usr_1",
                idempotency_key=charge_key(pid),
            )
        )
    assert result.status is ProviderStatus.REQUIRES_ACTION
    assert result.client_action is not None and result.client_action.kind == "redirect"
    assert result.client_action.url and result.provider_reference in result.client_action.url
    assert fake.charges == []


def test_the_charge_and_the_lookup_name_the_orders_capture() -> None:
    from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderStatus, charge_key
    from core.shared.money import Money

    with FakePayPal.running() as fake:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
        pid = PaymentId("pay_capture_ref")
        result = gateway.charge(
            ChargeRequest(
                payment_id=pid,
                amount=Money.of(1250, "EUR"),
                method=PaymentMethod.PAYPAL,
                country="GB",
                payer_id="usr_1",
                payment_token="vault_1",
                idempotency_key=charge_key(pid),
            )
        )
        found = gateway.lookup(pid, result.provider_reference)
    [capture_id] = list(fake.captures)
    assert result.status is ProviderStatus.CAPTURED
    assert (result.provider_reference, result.capture_reference) == (fake.captures[capture_id]["order_id"], capture_id)
    assert found is not None and found.capture_reference == capture_id


def test_a_payout_sent_again_under_another_request_id_answers_the_original_and_pays_once() -> None:
    """PayPal pays a sender_batch_id (our payout id) once and links the original payout when
    it is reused; that is the payout already made, never a decline."""
    from core.payments.domain import PayoutRequest

    with FakePayPal.running() as fake:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
        first = PayoutRequest(
            payout_id="pout_once", destination="payee@example.com", amount=AMOUNT, idempotency_key="key-1"
        )
        paid = gateway.payout(first)
        again = gateway.payout(
            PayoutRequest(
                payout_id="pout_once", destination="payee@example.com", amount=AMOUNT, idempotency_key="key-2"
            )
        )
    assert again.reference == paid.reference
    assert len(fake.payouts) == 1


def test_a_payouts_hold_release_and_a_pending_item_are_no_refunds_and_the_item_counts_as_paid() -> None:
    """A payout books a T1503 hold, the T0001 item and a T1105 release: only the item is a
    payout line (T1105 is a T11 code, yet no refund of a payment). An unclaimed item stays
    pending ("P") with its money held out, so it still counts; a pending charge does not."""
    from datetime import UTC, datetime, timedelta

    from core.payments.domain import PayoutRequest, SettlementKind

    with FakePayPal.running() as fake:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
        now = datetime.now(UTC)
        gateway.payout(
            PayoutRequest(payout_id="pout_held", destination="new@example.com", amount=AMOUNT, idempotency_key="k")
        )
        for detail in fake.transactions:
            if detail["transaction_info"]["transaction_event_code"] == "T0001":
                detail["transaction_info"]["transaction_status"] = "P"  # unclaimed: no PayPal account yet
        fake.transactions.append(
            {**fake.transactions[1], "transaction_info": {**fake.transactions[1]["transaction_info"]}}
        )
        fake.transactions[-1]["transaction_info"].update(transaction_event_code="T0006", transaction_id="PENDING1")
        lines = gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))
    kinds = sorted((line.kind.value, line.payout_id or "") for line in lines)
    assert kinds == [("adjustment", ""), ("adjustment", ""), ("payout", "pout_held")]
    assert not any(line.kind is SettlementKind.REFUND for line in lines)
