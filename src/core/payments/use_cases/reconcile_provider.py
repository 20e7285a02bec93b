from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from attrs import frozen

from core.payments.domain import (
    Actions,
    AlertKind,
    MatchKind,
    OurPayout,
    OurSide,
    Payment,
    PaymentAlertRaised,
    ReconciliationItem,
    RefundStatus,
    SettlementKind,
    reconcile,
)
from core.payments.ports import PaymentGateway, PaymentsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock

MAX_PERIOD = timedelta(days=31)


@frozen(kw_only=True)
class ReconcileProviderCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    provider: str
    start: datetime
    end: datetime


@frozen(kw_only=True)
class ReconciliationReport:
    provider: str
    start: datetime
    end: datetime
    items: tuple[ReconciliationItem, ...]
    matched: int
    missing_ours: int
    missing_theirs: int
    amount_mismatch: int

    @property
    def discrepancies(self) -> tuple[ReconciliationItem, ...]:
        return tuple(i for i in self.items if i.is_discrepancy)


class ReconcileProvider:
    """Match a provider's settlement report for ``[start, end)`` against our captures,
    refunds and payouts through it in that period: matched, missing on our side (the
    provider settled or paid out something we have no record of), missing on theirs (we
    captured, refunded or paid out and the report has no line), amount mismatch. Matching
    is by (provider reference, kind) on gross amounts; a payout is matched by the reference
    the provider's payout answer gave (or, where the report cannot name it, by the payout
    id the line echoes: PayPal), counted when escrow recorded it paid. Payouts are matched
    only for providers whose report lists them (``PaymentGateway.reports_payouts``; not
    Adyen's settlement details). Fees, chargebacks, adjustments and the platform's own
    withdrawals to its bank are reported by the provider and not matched here. A payment
    captured (or a payout paid) just before ``end`` may be booked in the next period:
    reconcile closed periods (a day or more after their end).

    The report is fetched before any transaction; the result is audited and, if anything
    does not match, a PaymentAlertRaised (reconciliation_discrepancy) is emitted naming
    every discrepancy. Raises Forbidden, InvalidInput (unknown provider, a period that is
    empty, open-ended in the wrong way or longer than 31 days), GatewayUnavailable.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
    ) -> None:
        self._new_uow = new_uow
        self._authorizer = authorizer
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._gateways = gateways

    def __call__(self, command: ReconcileProviderCommand) -> ReconciliationReport:
        gateway = self._gateways.get(command.provider)
        if gateway is None:
            raise InvalidInput("provider", f"{command.provider!r} is not a configured payment provider")
        for name, value in (("start", command.start), ("end", command.end)):
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise InvalidInput(name, "an aware datetime")
        if not command.start < command.end or command.end - command.start > MAX_PERIOD:
            raise InvalidInput("end", "after start, and at most 31 days after it")
        if not self._authorizer.allows(command.by, Actions.RECONCILE):
            # Checked again (and audited) by the runner; this spares the provider a call.
            return self._runner.run(
                command,
                action=Actions.RECONCILE,
                target=f"provider:{command.provider}",
                result_type=ReconciliationReport,
                body=lambda _uow: _never(),
            )
        theirs = gateway.settlement_report(command.start, command.end)

        def body(uow: PaymentsUnitOfWork) -> Change[ReconciliationReport]:
            payments = uow.payments.captured_between(command.provider, command.start, command.end)
            ours = [side for p in payments for side in _our_side(p, command.start, command.end)]
            if gateway.reports_payouts:
                paid = uow.payouts_made.paid_through(command.provider, command.start, command.end)
                ours.extend(_our_payout(p) for p in paid)
            items = tuple(reconcile(ours, theirs))
            counts = {kind: sum(1 for i in items if i.kind is kind) for kind in MatchKind}
            report = ReconciliationReport(
                provider=command.provider,
                start=command.start,
                end=command.end,
                items=items,
                matched=counts[MatchKind.MATCHED],
                missing_ours=counts[MatchKind.MISSING_OURS],
                missing_theirs=counts[MatchKind.MISSING_THEIRS],
                amount_mismatch=counts[MatchKind.AMOUNT_MISMATCH],
            )
            events: list[DomainEvent] = []
            discrepancies = report.discrepancies
            if discrepancies:
                now = self._clock.now()
                events.append(
                    PaymentAlertRaised(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=f"reconciliation:{command.provider}",
                        kind=AlertKind.RECONCILIATION_DISCREPANCY,
                        provider=command.provider,
                        summary=(
                            f"{len(discrepancies)} discrepancies reconciling {command.provider} "
                            f"from {command.start.isoformat()} to {command.end.isoformat()}"
                        ),
                        details=tuple(_detail(i) for i in discrepancies),
                    )
                )
            return Change(
                result=report,
                target=f"provider:{command.provider}",
                after={
                    "start": command.start.isoformat(),
                    "end": command.end.isoformat(),
                    "matched": report.matched,
                    "missing_ours": report.missing_ours,
                    "missing_theirs": report.missing_theirs,
                    "amount_mismatch": report.amount_mismatch,
                },
                events=tuple(events),
            )

        return self._runner.run(
            command,
            action=Actions.RECONCILE,
            target=f"provider:{command.provider}",
            result_type=ReconciliationReport,
            body=body,
        )


def _our_side(payment: Payment, start: datetime, end: datetime) -> list[OurSide]:
    sides: list[OurSide] = []
    reference = payment.provider_reference
    if reference is None:
        return sides
    if payment.captured_at is not None and start <= payment.captured_at < end:
        sides.append(
            OurSide(
                # What the ledger credited for it (a short capture credits what was taken).
                provider_reference=reference,
                kind=SettlementKind.CHARGE,
                amount=payment.credited,
                payment_id=payment.id,
            )
        )
    for refund in payment.refunds:
        if refund.status is RefundStatus.SUCCEEDED and start <= refund.requested_at < end:
            sides.append(
                OurSide(
                    provider_reference=refund.provider_reference or reference,
                    kind=SettlementKind.REFUND,
                    amount=refund.amount,
                    payment_id=payment.id,
                )
            )
    return sides


def _detail(item: ReconciliationItem) -> str:
    payout = f" (payout {item.payout_id})" if item.payout_id else ""
    return (
        f"{item.kind.value} {item.settlement_kind.value} {item.provider_reference}{payout}: "
        f"ours {item.ours or '-'}, theirs {item.theirs or '-'}"
    )


def _our_payout(payout: OurPayout) -> OurSide:
    return OurSide(
        provider_reference=payout.reference,
        kind=SettlementKind.PAYOUT,
        amount=payout.amount,
        payout_id=payout.payout_id,
    )


def _never() -> Change[ReconciliationReport]:
    raise AssertionError("the runner refuses before running the body")
