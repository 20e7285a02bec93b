"""A payments test world: the in-memory unit of work, the real policy authoriser, a
manual clock, fake providers and the payments use cases wired by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from adapters.memory.payments import MemoryRoutingState
from adapters.memory.unit_of_work import MemoryStore, MemoryUnitOfWork
from core.identity.domain import PolicyAuthorizer
from core.payments.domain import (
    PLATFORM,
    AccountKinds,
    BreakerPolicy,
    EscrowTarget,
    Payment,
    PaymentId,
    PaymentMethod,
    PaymentView,
    ProviderEvent,
    ProviderEventKind,
    RefundId,
    Route,
    RoutingPolicy,
)
from core.payments.use_cases.apply_provider_event import ApplyProviderEvent, ApplyProviderEventCommand
from core.payments.use_cases.capture_payment import (
    CaptureDuePaymentsCommand,
    CaptureDuePaymentsResult,
    CapturePayment,
    CapturePaymentCommand,
)
from core.payments.use_cases.check_hold_deadlines import CheckHoldDeadlines, CheckHoldDeadlinesCommand
from core.payments.use_cases.receive_provider_events import (
    WEBHOOKS,
    ReceiveProviderEvents,
    ReceiveProviderEventsCommand,
)
from core.payments.use_cases.reconcile_provider import ReconcileProvider
from core.payments.use_cases.refund_payment import RefundPayment, RefundPaymentCommand, RefundPaymentResult
from core.payments.use_cases.resolve_unknown_payments import (
    ResolveUnknownPayments,
    ResolveUnknownPaymentsCommand,
    ResolveUnknownPaymentsResult,
)
from core.payments.use_cases.routing import Router
from core.payments.use_cases.start_top_up import StartTopUp, StartTopUpCommand
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.ids import IdempotencyKey, correlation_id
from core.shared.money import Currency, Money
from core.shared.time import ManualClock
from tests.unit.payments.fakes import FakePaymentGateway

SYSTEM = Actor.system("payments")


def key() -> IdempotencyKey:
    return IdempotencyKey(uuid.uuid4().hex)


def client(name: str = "alice") -> Actor:
    return Actor(ActorKind.USER, f"usr_{name}", frozenset({Persona.CLIENT}))


def operator(persona: Persona = Persona.SUPPORT) -> Actor:
    return Actor(ActorKind.OPERATOR, f"usr_staff_{persona.value}", frozenset({persona}))


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


class PaymentsWorld:
    def __init__(
        self,
        providers: tuple[str, ...] = ("stripe", "adyen"),
        *,
        routes: tuple[Route, ...] | None = None,
        breaker: BreakerPolicy | None = None,
    ) -> None:
        self.clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        self.store = MemoryStore()
        self.authorizer = PolicyAuthorizer()
        self.gateways = {name: FakePaymentGateway(name, self.clock.now) for name in providers}
        self.routing = RoutingPolicy(
            routes=routes
            or tuple(
                Route(provider=name, priority=i, hold_limit=timedelta(days=90)) for i, name in enumerate(providers)
            )
        )
        self.routing_state = MemoryRoutingState()
        self.router = Router(self.routing, self.gateways, self.routing_state, breaker or BreakerPolicy())
        self.start_top_up = StartTopUp(self.uow, self.authorizer, self.clock, self.router)
        self.receive = ReceiveProviderEvents(self.uow, self.authorizer, self.clock)
        self.apply = ApplyProviderEvent(self.uow, self.authorizer, self.clock, self.routing)
        self.refund_payment = RefundPayment(self.uow, self.authorizer, self.clock, self.gateways)
        self.resolve = ResolveUnknownPayments(self.uow, self.authorizer, self.clock, self.router)
        self.reconcile = ReconcileProvider(self.uow, self.authorizer, self.clock, self.gateways)
        self.check_holds = CheckHoldDeadlines(self.uow, self.authorizer, self.clock)
        self.capture_payment = CapturePayment(self.uow, self.authorizer, self.clock, self.router)

    def uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)

    # --- driving ---------------------------------------------------------------------

    def top_up(
        self,
        by: Actor,
        minor: int,
        *,
        k: IdempotencyKey | None = None,
        method: PaymentMethod = PaymentMethod.CARD,
        country: str = "DE",
        currency: str = "EUR",
        escrow: EscrowTarget | None = None,
    ) -> PaymentView:
        return self.start_top_up(
            StartTopUpCommand(
                by=by,
                idempotency_key=k or key(),
                correlation_id=correlation_id(None),
                amount=Money.of(minor, currency),
                method=method,
                country=country,
                payment_token="pm_card_visa",
                escrow=escrow,
            )
        )

    def deliver(self, *events: ProviderEvent) -> None:
        """A webhook delivery: receive (dedupe), then apply each new event, as the
        outbox consumer would."""
        if not events:
            return
        self.receive(
            ReceiveProviderEventsCommand(
                by=WEBHOOKS, correlation_id=correlation_id(None), provider=events[0].provider, events=tuple(events)
            )
        )
        for event in events:
            self.apply(
                ApplyProviderEventCommand(
                    by=SYSTEM,
                    correlation_id=correlation_id(None),
                    provider=event.provider,
                    provider_event_id=event.provider_event_id,
                )
            )

    def refund(self, payment_id: PaymentId, minor: int, *, by: Actor | None = None) -> RefundPaymentResult:
        return self.refund_payment(
            RefundPaymentCommand(
                by=by or operator(),
                idempotency_key=key(),
                correlation_id=correlation_id(None),
                payment_id=payment_id,
                amount=eur(minor),
                reason="customer asked",
            )
        )

    def run_janitor(self) -> ResolveUnknownPaymentsResult:
        return self.resolve(
            ResolveUnknownPaymentsCommand(by=Actor.system("timers"), correlation_id=correlation_id(None))
        )

    def run_captures(self) -> CaptureDuePaymentsResult:
        """Fire the due ``payments.capture`` timers, as the timer scheduler does."""
        return self.capture_payment.fire_due(
            CaptureDuePaymentsCommand(by=Actor.system("timers"), correlation_id=correlation_id(None))
        )

    def capture(self, by: Actor, payment_id: PaymentId, *, k: IdempotencyKey | None = None) -> PaymentView:
        """The payer, back from approving the payment, asks to capture it now."""
        return self.capture_payment(
            CapturePaymentCommand(
                by=by, idempotency_key=k or key(), correlation_id=correlation_id(None), payment_id=payment_id
            )
        )

    def run_hold_guard(self) -> object:
        return self.check_holds(
            CheckHoldDeadlinesCommand(by=Actor.system("timers"), correlation_id=correlation_id(None))
        )

    # --- reading ---------------------------------------------------------------------

    def payment(self, payment_id: PaymentId) -> Payment:
        with self.uow() as uow:
            return uow.payments.get(payment_id)

    def wallet_balance(self, who: Actor, currency: str = "EUR") -> int:
        with self.uow() as uow:
            account = uow.book.find_account(owner_id=who.id, kind=AccountKinds.WALLET, currency=Currency(currency))
            return 0 if account is None else uow.book.balance(account).minor

    def clearing_balance(self, provider: str, currency: str = "EUR") -> int:
        with self.uow() as uow:
            account = uow.book.find_account(
                owner_id=PLATFORM, kind=AccountKinds.GATEWAY_CLEARING, currency=Currency(currency), label=provider
            )
            return 0 if account is None else uow.book.balance(account).minor

    def entries_of_kind(self, kind: str) -> int:
        return sum(1 for e in self.store.entries.values() if e.kind.value == kind)

    def events_named(self, name: str) -> list[object]:
        return [row.event for row in self.store.outbox if getattr(row.event, "name", None) == name]


def provider_event(
    provider: str,
    event_id: str,
    kind: ProviderEventKind,
    reference: str | None,
    *,
    at: datetime,
    payment_id: PaymentId | None = None,
    amount: Money | None = None,
    refund_reference: str | None = None,
    refund_id: RefundId | None = None,
) -> ProviderEvent:
    return ProviderEvent(
        provider=provider,
        provider_event_id=event_id,
        kind=kind,
        provider_reference=reference,
        occurred_at=at,
        payment_id=payment_id,
        amount=amount,
        refund_reference=refund_reference,
        refund_id=refund_id,
    )
