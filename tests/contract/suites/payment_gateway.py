"""The PaymentGateway contract: what every provider adapter does, checked against a local
fake of the provider's HTTP API with the official SDK pointed at it (``tests/fakes``).

Subclasses supply ``fake`` (a running fake), ``make_gateway(base_url)``, the tokens and the
payout destination the provider understands, and say which lookups and reports the provider
offers (``finds_by_reference`` …): a provider that cannot tell must say so with
GatewayOutcomeUnknown / GatewayUnavailable, never guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    MatchKind,
    OurSide,
    PaymentId,
    PaymentMethod,
    PayoutRequest,
    ProviderStatus,
    RefundId,
    RefundRequest,
    RefundStatus,
    SettlementKind,
    capture_key,
    charge_key,
    reconcile,
    refund_key,
)
from core.payments.ports import PaymentGateway
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.ids import new_id
from core.shared.money import Money
from tests.fakes.providers import FakeProvider, Fault
from tests.fakes.providers.base import a_free_port

AMOUNT = Money.of(1050, "EUR")
READ_TIMEOUT = 0.5  # the gateways' read timeout in these tests; the fakes stall longer
STALL_SECONDS = 2.0

MakeGateway = Callable[[str], PaymentGateway]


class PaymentGatewayContract:
    good_token: ClassVar[str]
    declining_token: ClassVar[str]
    payout_destination: ClassVar[str]
    secrets: ClassVar[tuple[str, ...]]  # configured secrets that must never reach a log
    unknown_reference: ClassVar[str] = "never_created"  # a well-formed reference the provider never issued
    unknown_refund_reference: ClassVar[str] = "never_refunded"
    finds_by_reference: ClassVar[bool] = True
    finds_by_payment_id: ClassVar[bool] = True
    reports_settlement: ClassVar[bool] = True
    # How the settlement report names a payout: "reference" (the one ``payout`` answered),
    # "payout_id" (only our payout id: PayPal), None (payouts are in another report: Adyen).
    payout_line_names: ClassVar[str | None] = "reference"
    # What a capture answers (Adyen: "received", so PROCESSING), and whether the provider
    # refuses to capture a payment it captured already.
    capture_answers: ClassVar[ProviderStatus] = ProviderStatus.CAPTURED
    refuses_a_second_capture: ClassVar[bool] = True
    # The provider's own words for a refund's states (None: it has no refund lookup, and
    # ``refund_status`` answers None).
    refund_words: ClassVar[dict[RefundStatus, str] | None] = None

    @pytest.fixture
    def fake(self) -> Any:
        raise NotImplementedError

    @pytest.fixture
    def make_gateway(self) -> MakeGateway:
        raise NotImplementedError

    @pytest.fixture
    def gateway(self, fake: FakeProvider, make_gateway: MakeGateway) -> PaymentGateway:
        return make_gateway(fake.base_url)

    def a_charge(self, *, token: str | None = None, payment_id: str | None = None) -> ChargeRequest:
        pid = PaymentId(payment_id or new_id("pay"))
        return ChargeRequest(
            payment_id=pid,
            amount=AMOUNT,
            method=PaymentMethod.CARD,
            country="DE",
            payer_id="usr_payer",
            payment_token=token or self.good_token,
            idempotency_key=charge_key(pid),
        )

    def a_refund_of(self, request: ChargeRequest, reference: str, amount: Money = AMOUNT) -> RefundRequest:
        refund_id = RefundId(new_id("rfd"))
        return RefundRequest(
            payment_id=request.payment_id,
            refund_id=refund_id,
            provider_reference=reference,
            amount=amount,
            idempotency_key=refund_key(request.payment_id, refund_id),
        )

    def authorised(self, gateway: PaymentGateway, fake: Any) -> tuple[ChargeRequest, str]:
        """A payment the provider holds authorised and not captured: (its request, its
        reference). Stripe: an authorise-only card; PayPal: an order the payer approved."""
        raise NotImplementedError

    def a_capture_of(self, request: ChargeRequest, reference: str, *, key: str | None = None) -> CaptureRequest:
        return CaptureRequest(
            payment_id=request.payment_id,
            provider_reference=reference,
            amount=request.amount,
            idempotency_key=key or capture_key(request.payment_id),
        )

    def a_payout(self) -> PayoutRequest:
        payout_id = new_id("pout")
        return PayoutRequest(
            payout_id=payout_id, destination=self.payout_destination, amount=AMOUNT, idempotency_key=payout_id
        )

    # -- charges -----------------------------------------------------------------------

    def test_a_charge_is_captured_and_the_provider_records_our_payment_once(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request = self.a_charge()
        result = gateway.charge(request)
        assert (result.provider, result.status, result.amount) == (gateway.name, ProviderStatus.CAPTURED, AMOUNT)
        assert result.provider_reference
        [charge] = fake.charges
        assert (charge.amount_minor, charge.currency, charge.reference) == (1050, "EUR", request.payment_id)
        assert charge.idempotency_key == request.idempotency_key

    def test_the_same_key_charges_once_and_answers_the_same(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        request = self.a_charge()
        assert gateway.charge(request) == gateway.charge(request)
        assert len(fake.charges) == 1

    def test_a_key_reused_for_a_different_charge_is_an_unknown_outcome_and_charges_nothing_more(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        # The provider acted on the first body and will not say how: never a final decline.
        request = self.a_charge()
        gateway.charge(request)
        different = ChargeRequest(
            payment_id=request.payment_id,
            amount=Money.of(9999, "EUR"),
            method=request.method,
            country=request.country,
            payer_id=request.payer_id,
            payment_token=request.payment_token,
            idempotency_key=request.idempotency_key,
        )
        with pytest.raises(GatewayOutcomeUnknown):
            gateway.charge(different)
        assert [c.amount_minor for c in fake.charges] == [1050]

    def test_a_key_reused_for_a_different_payout_is_an_unknown_outcome_never_a_decline(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        first = self.a_payout()
        gateway.payout(first)
        changed = PayoutRequest(
            payout_id=first.payout_id,
            destination=first.destination,
            amount=Money.of(first.amount.minor + 1, first.amount.currency.code),
            idempotency_key=first.idempotency_key,
        )
        with pytest.raises(GatewayOutcomeUnknown):
            gateway.payout(changed)
        assert len(fake.payouts) == 1

    def test_concurrent_calls_with_one_key_charge_once(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        request = self.a_charge()
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda _: gateway.charge(request), range(6)))
        assert len({r.provider_reference for r in results}) == 1
        assert len(fake.charges) == 1

    def test_two_payments_are_two_charges(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        first, second = gateway.charge(self.a_charge()), gateway.charge(self.a_charge())
        assert first.provider_reference != second.provider_reference
        assert len(fake.charges) == 2

    def test_a_decline_is_final_for_its_key_and_charges_nothing(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request = self.a_charge()
        fake.fail_next(Fault.DECLINE)
        with pytest.raises(GatewayDeclined) as first:
            gateway.charge(request)
        with pytest.raises(GatewayDeclined) as again:
            gateway.charge(request)
        assert (first.value.gateway, first.value.reason) == (again.value.gateway, again.value.reason)
        assert first.value.gateway == gateway.name and first.value.reason
        assert fake.charges == []

    def test_a_payment_method_the_provider_declines_is_declined(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        with pytest.raises(GatewayDeclined):
            gateway.charge(self.a_charge(token=self.declining_token))
        assert fake.charges == []

    def test_a_503_to_a_charge_is_an_unknown_outcome_never_a_licence_to_go_elsewhere(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request = self.a_charge()
        fake.fail_next(Fault.UNAVAILABLE)
        with pytest.raises(GatewayOutcomeUnknown):
            gateway.charge(request)
        gateway.charge(request)  # the same key, once it answers: charged once
        assert len(fake.charges) == 1

    @pytest.mark.parametrize("fault", [Fault.STALL, Fault.SERVER_ERROR])
    def test_an_answer_lost_after_the_charge_is_an_unknown_outcome_and_the_retry_charges_once(
        self, gateway: PaymentGateway, fake: FakeProvider, fault: Fault
    ) -> None:
        request = self.a_charge()
        fake.fail_next(fault)
        with pytest.raises(GatewayOutcomeUnknown) as lost:
            gateway.charge(request)
        assert lost.value.gateway == gateway.name
        assert len(fake.charges) == 1  # the provider did charge
        retried = gateway.charge(request)
        assert retried.status is ProviderStatus.CAPTURED
        assert len(fake.charges) == 1

    def test_a_refusal_before_processing_is_unavailable_and_the_retry_charges_once(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request = self.a_charge()
        fake.fail_next(Fault.RATE_LIMITED)
        with pytest.raises(GatewayUnavailable):
            gateway.charge(request)
        assert fake.charges == []
        gateway.charge(request)
        assert len(fake.charges) == 1

    def test_a_provider_that_refuses_connections_is_unavailable(self, make_gateway: MakeGateway) -> None:
        gateway = make_gateway(f"http://127.0.0.1:{a_free_port()}")
        with pytest.raises(GatewayUnavailable):
            gateway.charge(self.a_charge())

    # -- captures ------------------------------------------------------------------------

    def test_an_authorised_payment_is_captured_once_and_the_same_key_answers_the_same(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request, reference = self.authorised(gateway, fake)
        capture = self.a_capture_of(request, reference)
        first = gateway.capture(capture)
        assert (first.provider, first.status, first.provider_reference) == (
            gateway.name,
            self.capture_answers,
            reference,
        )
        assert first.amount == AMOUNT
        assert gateway.capture(capture) == first
        with pytest.raises(GatewayDeclined):  # another key: the provider will not capture it twice
            gateway.capture(self.a_capture_of(request, reference, key=f"{capture.idempotency_key}:other"))
        assert len(fake.charges) == 1

    def test_capturing_a_payment_that_was_captured_already_takes_nothing_more(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        capture = self.a_capture_of(request, charged.provider_reference)
        if self.refuses_a_second_capture:
            with pytest.raises(GatewayDeclined):
                gateway.capture(capture)
        else:  # Adyen takes the modification and reports it by webhook: still one charge
            assert gateway.capture(capture).status is ProviderStatus.PROCESSING
        assert len(fake.charges) == 1

    def test_a_capture_that_times_out_is_an_unknown_outcome(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        request, reference = self.authorised(gateway, fake)
        fake.fail_next(Fault.STALL)
        with pytest.raises(GatewayOutcomeUnknown):
            gateway.capture(self.a_capture_of(request, reference))

    # -- refunds and payouts -------------------------------------------------------------

    def test_a_refund_is_made_once_per_key(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        refund = self.a_refund_of(request, charged.provider_reference, Money.of(300, "EUR"))
        first = gateway.refund(refund)
        assert first.provider_refund_reference
        assert gateway.refund(refund) == first
        [made] = fake.refunds
        assert (made.amount_minor, made.currency, made.idempotency_key) == (300, "EUR", refund.idempotency_key)

    def test_a_refund_the_provider_refuses_is_declined(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        fake.fail_next(Fault.DECLINE)
        with pytest.raises(GatewayDeclined):
            gateway.refund(self.a_refund_of(request, charged.provider_reference))
        assert fake.refunds == []

    def test_a_payout_is_sent_once_per_key(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        payout = self.a_payout()
        first = gateway.payout(payout)
        assert first.reference and first.status
        assert gateway.payout(payout) == first
        [sent] = fake.payouts
        assert (sent.amount_minor, sent.currency, sent.idempotency_key) == (1050, "EUR", payout.idempotency_key)

    def test_a_payout_the_provider_refuses_is_declined(self, gateway: PaymentGateway, fake: FakeProvider) -> None:
        fake.fail_next(Fault.DECLINE)
        with pytest.raises(GatewayDeclined):
            gateway.payout(self.a_payout())
        assert fake.payouts == []

    def test_a_payout_with_a_lost_answer_is_an_unknown_outcome(
        self, gateway: PaymentGateway, fake: FakeProvider
    ) -> None:
        payout = self.a_payout()
        fake.fail_next(Fault.STALL)
        with pytest.raises(GatewayOutcomeUnknown):
            gateway.payout(payout)
        assert gateway.payout(payout).reference == fake.payouts[0].provider_id
        assert len(fake.payouts) == 1

    def test_refund_status_answers_the_refunds_state_at_the_provider_or_none(
        self, gateway: PaymentGateway, fake: Any
    ) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        reference = gateway.refund(self.a_refund_of(request, charged.provider_reference)).provider_refund_reference
        if self.refund_words is None:
            assert gateway.refund_status(reference) is None
            return
        assert gateway.refund_status(reference) is RefundStatus.SUCCEEDED
        for status, word in self.refund_words.items():
            fake.set_refund_status(reference, word)
            assert gateway.refund_status(reference) is status
        assert len(fake.refunds) == 1  # only read

    def test_refund_status_of_a_refund_the_provider_does_not_know_or_when_down_is_unavailable(
        self, make_gateway: MakeGateway, gateway: PaymentGateway
    ) -> None:
        if self.refund_words is None:
            return
        with pytest.raises(GatewayUnavailable):
            gateway.refund_status(self.unknown_refund_reference)
        with pytest.raises(GatewayUnavailable):
            make_gateway(f"http://127.0.0.1:{a_free_port()}").refund_status(self.unknown_refund_reference)

    # -- lookups and settlement ------------------------------------------------------------

    def test_lookup_by_reference_finds_the_captured_payment_or_says_it_cannot_tell(
        self, gateway: PaymentGateway
    ) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        if not self.finds_by_reference:
            with pytest.raises(GatewayOutcomeUnknown):
                gateway.lookup(request.payment_id, charged.provider_reference)
            return
        found = gateway.lookup(request.payment_id, charged.provider_reference)
        assert gateway.lookup(PaymentId(new_id("pay")), self.unknown_reference) is None
        assert found is not None
        assert (found.provider_reference, found.payment_id, found.status, found.amount) == (
            charged.provider_reference,
            request.payment_id,
            ProviderStatus.CAPTURED,
            AMOUNT,
        )

    def test_lookup_by_our_payment_id_finds_it_or_says_it_cannot_tell(self, gateway: PaymentGateway) -> None:
        request = self.a_charge()
        charged = gateway.charge(request)
        never_charged = PaymentId(new_id("pay"))
        if not self.finds_by_payment_id:
            with pytest.raises(GatewayOutcomeUnknown):
                gateway.lookup(request.payment_id, None)
            return
        found = gateway.lookup(request.payment_id, None)
        assert found is not None and found.provider_reference == charged.provider_reference
        assert gateway.lookup(never_charged, None) is None

    def test_settlement_lists_the_charge_and_the_refund_under_their_references(self, gateway: PaymentGateway) -> None:
        now = datetime.now(UTC)
        request = self.a_charge()
        charged = gateway.charge(request)
        refunded = gateway.refund(self.a_refund_of(request, charged.provider_reference, Money.of(50, "EUR")))
        if not self.reports_settlement:
            with pytest.raises(GatewayUnavailable):
                gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))
            return
        lines = gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))
        by_reference = {(line.provider_reference, line.kind): line for line in lines}
        charge = by_reference[(charged.provider_reference, SettlementKind.CHARGE)]
        refund = by_reference[(refunded.provider_refund_reference, SettlementKind.REFUND)]
        assert (charge.gross, charge.payment_id) == (AMOUNT, request.payment_id)
        assert refund.gross == Money.of(50, "EUR")
        assert [line.booked_at for line in lines] == sorted(line.booked_at for line in lines)
        assert gateway.settlement_report(now + timedelta(hours=2), now + timedelta(hours=3)) == []

    def test_settlement_lists_a_payout_so_that_it_matches_ours(self, gateway: PaymentGateway) -> None:
        now = datetime.now(UTC)
        request = self.a_payout()
        paid = gateway.payout(request)
        assert gateway.reports_payouts is (self.payout_line_names is not None)
        if not self.reports_settlement:
            return
        lines = [
            line
            for line in gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))
            if line.kind is SettlementKind.PAYOUT
        ]
        if self.payout_line_names is None:
            assert lines == []  # not in this report: reconciliation leaves payouts out
            return
        [line] = lines
        assert line.gross == AMOUNT
        if self.payout_line_names == "reference":
            assert line.provider_reference == paid.reference
        else:
            assert line.payout_id == request.payout_id
        ours = OurSide(
            provider_reference=paid.reference, kind=SettlementKind.PAYOUT, amount=AMOUNT, payout_id=request.payout_id
        )
        [item] = reconcile([ours], lines)
        assert (item.kind, item.provider_reference, item.payout_id) == (
            MatchKind.MATCHED,
            paid.reference,
            request.payout_id,
        )

    # -- secrets --------------------------------------------------------------------------

    def test_no_secret_reaches_the_logs(
        self, gateway: PaymentGateway, fake: FakeProvider, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        gateway.charge(self.a_charge())
        fake.fail_next(Fault.DECLINE)
        with pytest.raises(GatewayDeclined) as declined:
            gateway.charge(self.a_charge())
        text = caplog.text + repr(gateway.__dict__) + repr(declined.value)
        for secret in self.secrets:
            assert secret not in text
