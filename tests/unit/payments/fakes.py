"""A fake ``PaymentGateway``: a provider in memory that behaves as a real one must.

Idempotent per key (a repeated key answers what the first call did and charges once),
declines final for their key, outages that certainly took no effect (unavailable), and
lost answers where the charge went through (unknown outcome). ``charges`` shows what the
provider really did, so tests can prove "never charged twice".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import attrs

from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ClientAction,
    PaymentId,
    PayoutRequest,
    PayoutResult,
    ProviderPayment,
    ProviderStatus,
    RefundId,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SettlementKind,
    SettlementLine,
)
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money


@attrs.define
class FakeCharge:
    reference: str
    payment_id: PaymentId
    amount: Money
    status: ProviderStatus
    key: str
    booked_at: datetime
    refunded: int = 0


@attrs.define
class FakeRefund:
    reference: str
    charge_reference: str
    amount: Money
    key: str
    booked_at: datetime
    refund_id: RefundId  # ours, echoed in its webhooks (as every real provider does)
    status: RefundStatus = RefundStatus.SUCCEEDED


@attrs.define
class FakePayout:
    reference: str
    payout_id: str
    amount: Money
    booked_at: datetime


class FakePaymentGateway:
    """Configure with ``next_status``, ``decline_next``, ``unavailable``, ``lose_answers``;
    inspect ``charges``, ``refunds`` and ``calls``."""

    def __init__(self, name: str, now: Callable[[], datetime]) -> None:
        self._name = name
        self._now = now
        self._lock = threading.Lock()
        self.charges: dict[str, FakeCharge] = {}  # by reference
        self.refunds: dict[str, FakeRefund] = {}
        self._answers: dict[str, ChargeResult | RefundResult | GatewayDeclined] = {}
        self.next_status = ProviderStatus.CAPTURED
        self.unavailable = False  # every call: certainly no effect
        self.lose_answers = 0  # the next N calls take effect, but the answer is lost
        self.lookups_unavailable = False
        self.capture_next_minor: int | None = None  # the next charge takes this, not what was asked
        self._declines: list[str] = []
        self.calls = 0
        self.next_refund_status = RefundStatus.SUCCEEDED  # what new refunds answer (PENDING: a webhook finishes)
        self.asks_refunds = True  # False: ``refund_status`` answers None (no refund lookup, as Adyen)
        self.refund_status_unavailable = False
        self.status_calls: list[str] = []  # refund references asked about, in order
        self.captures: list[str] = []  # references captured by ``capture`` (each once)
        self.payouts: dict[str, FakePayout] = {}  # by reference; each booked in the report as Stripe does
        self.reports_payouts = True

    @property
    def name(self) -> str:
        return self._name

    def decline_next(self, reason: str = "card_declined") -> None:
        self._declines.append(reason)

    def clear_declines(self) -> None:
        self._declines.clear()

    def charged(self, payment_id: str) -> list[FakeCharge]:
        return [c for c in self.charges.values() if c.payment_id == payment_id]

    def _gate(self) -> bool:
        """Raise for an outage; True if this call's answer is to be lost."""
        self.calls += 1
        if self.unavailable:
            raise GatewayUnavailable(self._name)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            return True
        return False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            lose = self._gate()
            answer = self._answers.get(request.idempotency_key)
            if answer is None:
                answer = self._new_charge(request)
                self._answers[request.idempotency_key] = answer
        if lose:
            raise GatewayOutcomeUnknown(self._name)
        if isinstance(answer, GatewayDeclined):
            raise answer
        assert isinstance(answer, ChargeResult)
        return answer

    def _new_charge(self, request: ChargeRequest) -> ChargeResult | GatewayDeclined:
        if self._declines:
            return GatewayDeclined(self._name, self._declines.pop(0))
        reference = f"{self._name}_ch_{len(self.charges) + 1:04d}"
        status = self.next_status
        taken = request.amount
        if self.capture_next_minor is not None:
            taken, self.capture_next_minor = Money(self.capture_next_minor, request.amount.currency), None
        self.charges[reference] = FakeCharge(
            reference, request.payment_id, taken, status, request.idempotency_key, self._now()
        )
        action = (
            ClientAction(kind="redirect", url=f"https://{self._name}.test/3ds/{reference}")
            if status is ProviderStatus.REQUIRES_ACTION
            else None
        )
        return ChargeResult(
            provider=self._name,
            provider_reference=reference,
            status=status,
            amount=taken,  # what the provider says it took
            client_action=action,
        )

    def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture an AUTHORIZED charge; once per charge (another key for a captured one
        is refused, as providers do), a repeated key answers the first capture."""
        with self._lock:
            lose = self._gate()
            answer = self._answers.get(request.idempotency_key)
            if answer is None:
                charge = self.charges.get(request.provider_reference)
                if self._declines:
                    answer = GatewayDeclined(self._name, self._declines.pop(0))
                elif charge is None or charge.status is not ProviderStatus.AUTHORIZED:
                    answer = GatewayDeclined(self._name, "not_capturable")
                else:
                    charge.status = ProviderStatus.CAPTURED
                    self.captures.append(charge.reference)
                    answer = ChargeResult(
                        provider=self._name,
                        provider_reference=charge.reference,
                        status=ProviderStatus.CAPTURED,
                        amount=charge.amount,
                    )
                self._answers[request.idempotency_key] = answer
        if lose:
            raise GatewayOutcomeUnknown(self._name)
        if isinstance(answer, GatewayDeclined):
            raise answer
        assert isinstance(answer, ChargeResult)
        return answer

    def refund(self, request: RefundRequest) -> RefundResult:
        with self._lock:
            lose = self._gate()
            answer = self._answers.get(request.idempotency_key)
            if answer is None:
                charge = self.charges.get(request.provider_reference)
                if charge is None or charge.refunded + request.amount.minor > charge.amount.minor:
                    answer = GatewayDeclined(self._name, "charge_already_refunded")
                else:
                    charge.refunded += request.amount.minor
                    reference = f"{self._name}_re_{len(self.refunds) + 1:04d}"
                    self.refunds[reference] = FakeRefund(
                        reference,
                        charge.reference,
                        request.amount,
                        request.idempotency_key,
                        self._now(),
                        request.refund_id,
                        self.next_refund_status,
                    )
                    answer = RefundResult(provider_refund_reference=reference, status=self.next_refund_status)
                self._answers[request.idempotency_key] = answer
        if lose:
            raise GatewayOutcomeUnknown(self._name)
        if isinstance(answer, GatewayDeclined):
            raise answer
        assert isinstance(answer, RefundResult)
        return answer

    def refund_status(self, provider_refund_reference: str) -> RefundStatus | None:
        with self._lock:
            self.status_calls.append(provider_refund_reference)
            if not self.asks_refunds:
                return None
            if self.refund_status_unavailable or provider_refund_reference not in self.refunds:
                raise GatewayUnavailable(self._name)
            return self.refunds[provider_refund_reference].status

    def settle_refund(self, reference: str, status: RefundStatus) -> None:
        """The provider finishes a pending refund by itself (its webhook may be lost)."""
        self.refunds[reference].status = status

    def payout(self, request: PayoutRequest) -> PayoutResult:
        reference = f"{self._name}_po_{request.payout_id}"
        with self._lock:
            self._gate()
            if reference not in self.payouts:
                self.payouts[reference] = FakePayout(reference, request.payout_id, request.amount, self._now())
        return PayoutResult(reference=reference, status="paid")

    def lookup(self, payment_id: PaymentId, provider_reference: str | None) -> ProviderPayment | None:
        with self._lock:
            if self.lookups_unavailable:
                raise GatewayUnavailable(self._name)
            found = [c for c in self.charges.values() if c.payment_id == payment_id]
        if not found:
            return None
        c = found[0]
        return ProviderPayment(
            provider=self._name,
            provider_reference=c.reference,
            payment_id=c.payment_id,
            status=c.status,
            amount=c.amount,
        )

    def settle(self, reference: str, status: ProviderStatus) -> None:
        """The provider moves a charge on by itself (the customer finished 3-D Secure)."""
        self.charges[reference].status = status

    def settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        lines: list[SettlementLine] = []
        for c in self.charges.values():
            if c.status is ProviderStatus.CAPTURED and start <= c.booked_at < end:
                fee = Money(c.amount.minor // 50, c.amount.currency)
                lines.append(
                    SettlementLine(
                        provider_reference=c.reference,
                        kind=SettlementKind.CHARGE,
                        gross=c.amount,
                        fee=fee,
                        net=c.amount.minus(fee),
                        booked_at=c.booked_at,
                        payment_id=c.payment_id,
                    )
                )
        for r in self.refunds.values():
            if start <= r.booked_at < end:
                zero = Money(0, r.amount.currency)
                lines.append(
                    SettlementLine(
                        provider_reference=r.reference,
                        kind=SettlementKind.REFUND,
                        gross=r.amount,
                        fee=zero,
                        net=r.amount,
                        booked_at=r.booked_at,
                    )
                )
        for p in self.payouts.values():
            if self.reports_payouts and start <= p.booked_at < end:
                lines.append(
                    SettlementLine(
                        provider_reference=p.reference,
                        kind=SettlementKind.PAYOUT,
                        gross=p.amount,
                        fee=Money(0, p.amount.currency),
                        net=p.amount,
                        booked_at=p.booked_at,
                        payout_id=p.payout_id,
                    )
                )
        return sorted(lines, key=lambda line: (line.booked_at, line.provider_reference))
