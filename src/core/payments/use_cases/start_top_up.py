from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from attrs import evolve, frozen

from core.payments.domain import (
    Actions,
    ChargeRequest,
    ChargeResult,
    ClientAction,
    EscrowTarget,
    NoProviderAvailable,
    NoProviderConfigured,
    Payment,
    PaymentId,
    PaymentMethod,
    PaymentPurpose,
    PaymentStarted,
    PaymentStatus,
    PaymentView,
    ProviderStatus,
    TimerKinds,
    charge_key,
    country_code,
    resolve_delay,
)
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import DEFAULT_HOLD_WARNING, after_change, capture_reported
from core.payments.use_cases.routing import Router
from core.payments.use_cases.waiting_events import apply_waiting_events
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.events import DomainEvent
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock
from core.shared.timers import Timer


@frozen(kw_only=True)
class StartTopUpCommand:
    """A client pays ``amount`` into their own wallet (or, with ``escrow``, to fund that
    milestone: the money lands in their wallet and escrow funds the milestone from it).
    ``payment_token`` is the provider's token for the instrument (never card data)."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    amount: Money
    method: PaymentMethod
    country: str
    payment_token: str | None = None
    return_url: str | None = None
    escrow: EscrowTarget | None = None


class ChargeOutcome:
    ANSWERED = "answered"
    DECLINED = "declined"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


@frozen(kw_only=True)
class RecordChargeCommand:
    """A gateway's answer to a charge, recorded by the system in a second transaction.
    Its key, ``<payment id>:charge:<provider>:<version read>:<outcome>``, is unique per
    answer."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    provider: str
    outcome: str
    status: ProviderStatus | None = None
    provider_reference: str | None = None
    client_action: ClientAction | None = None
    amount: Money | None = None  # what the provider says it charged (a capture: the ledger credits it)
    reason: str = ""
    next_provider: str | None = None
    capture_reference: str | None = None  # the capture's own id (PayPal), as the answer gave it


RECORDER = Actor.system("payments")


def _key(base: RecordChargeCommand, outcome: str) -> IdempotencyKey:
    """One key per (payment version, provider, kind of answer): two concurrent calls that
    got the same answer record it once; different answers (one lost, one not) both get
    recorded, and the monotonic machine keeps the higher."""
    return IdempotencyKey(base.idempotency_key.rsplit(":", 1)[0] + f":{outcome}")


class StartTopUp:
    """Charge a client through the routed provider, never twice.

    Intent, call, outcome (house style 3.6), with no transaction open during the call:
    1. store the payment (CREATED, routed to the first provider that takes the currency,
       country and method and whose circuit is not open) and a janitor timer, commit;
    2. ``gateway.charge`` with the key ``<payment id>:charge``;
    3. record the answer in a second transaction: the provider's status (a capture posts
       clearing -> wallet at once), a decline (FAILED), an unknown outcome (UNKNOWN: the
       janitor looks it up; never charged elsewhere), or unavailable: the request
       certainly took no effect, so the payment is routed to the next provider and
       step 2 repeats there; with none left it FAILS.
    A replay with the same key returns the stored payment, calling the gateway again only
    if no answer was recorded (same key: the provider answers as the first time).
    Raises Forbidden, InvalidInput, NoProviderConfigured, NoProviderAvailable (every
    circuit open: nothing stored, retry later). A decline is not an error: the result
    says FAILED with the reason. Emits PaymentStarted, PaymentStatusChanged,
    PaymentCaptured.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        router: Router,
        hold_warning: timedelta = DEFAULT_HOLD_WARNING,
    ) -> None:
        self._new_uow = new_uow
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._router = router
        self._hold_warning = hold_warning

    def __call__(self, command: StartTopUpCommand) -> PaymentView:
        started = self._runner.run(
            command, action=Actions.TOP_UP, target="payment:new", result_type=PaymentView, body=self._start(command)
        )
        view = started
        for _ in range(len(self._router.gateways) + 1):
            with self._new_uow() as uow:
                payment = uow.payments.get(started.payment_id)
            if payment.status is not PaymentStatus.CREATED or payment.provider is None:
                return PaymentView.of(payment)
            if payment.provider_reference is not None:
                return PaymentView.of(payment)  # answered "processing": webhooks and the janitor go on
            if payment.provider not in self._router.gateways:
                # Switched off since the intent: it may have been sent already, so it is
                # neither sent again nor moved elsewhere; the janitor keeps looking.
                return PaymentView.of(payment)
            view, rerouted = self._charge(payment, command)
            if not rerouted:
                return view
        return view

    def _charge(self, payment: Payment, command: StartTopUpCommand) -> tuple[PaymentView, bool]:
        provider = payment.provider
        assert provider is not None
        gateway = self._router.gateway(provider)
        request = ChargeRequest(
            payment_id=payment.id,
            amount=payment.amount,
            method=payment.method,
            country=payment.country,
            payer_id=payment.payer_id,
            payment_token=command.payment_token,
            return_url=command.return_url,
            description=f"gigcore {payment.purpose.value} {payment.id}",
            idempotency_key=charge_key(payment.id),
        )
        base = RecordChargeCommand(
            by=RECORDER,
            idempotency_key=IdempotencyKey(f"{payment.id}:charge:{provider}:{payment.version}:answered"),
            correlation_id=command.correlation_id,
            payment_id=payment.id,
            provider=provider,
            outcome=ChargeOutcome.ANSWERED,
        )
        try:
            result = gateway.charge(request)
        except GatewayDeclined as error:
            self._router.succeeded(provider)  # it answered: the provider is up
            record = evolve(
                base,
                outcome=ChargeOutcome.DECLINED,
                reason=error.reason or "declined",
                idempotency_key=_key(base, ChargeOutcome.DECLINED),
            )
        except GatewayUnavailable:
            now = self._clock.now()
            self._router.failed(provider, now=now)
            tried = (*payment.attempted, provider)
            available = self._router.available(
                payment.amount.currency, payment.country, payment.method, now=now, exclude=tried
            )
            record = evolve(
                base,
                outcome=ChargeOutcome.UNAVAILABLE,
                idempotency_key=_key(base, ChargeOutcome.UNAVAILABLE),
                next_provider=available[0] if available else None,
            )
        except GatewayOutcomeUnknown:
            self._router.failed(provider, now=self._clock.now())
            record = evolve(base, outcome=ChargeOutcome.UNKNOWN, idempotency_key=_key(base, ChargeOutcome.UNKNOWN))
        else:
            self._router.succeeded(provider)
            record = evolve(
                base,
                status=result.status,
                provider_reference=result.provider_reference,
                client_action=result.client_action,
                amount=result.amount,
                capture_reference=result.capture_reference,
            )
        view = self._runner.run(
            record,
            action=Actions.RECORD_CHARGE,
            target=f"payment:{payment.id}",
            result_type=PaymentView,
            body=self._record(record),
        )
        rerouted = record.outcome == ChargeOutcome.UNAVAILABLE and record.next_provider is not None
        return view, rerouted

    def _start(self, command: StartTopUpCommand) -> Callable[[PaymentsUnitOfWork], Change[PaymentView]]:
        def body(uow: PaymentsUnitOfWork) -> Change[PaymentView]:
            country = country_code(command.country)
            currency = command.amount.currency
            now = self._clock.now()
            if not self._router.configured(currency, country, command.method):
                raise NoProviderConfigured(currency.code, country, command.method.value)
            available = self._router.available(currency, country, command.method, now=now)
            if not available:
                raise NoProviderAvailable(currency.code, country, command.method.value)
            payment = Payment.start(
                payer_id=command.by.id,
                purpose=PaymentPurpose.WALLET_TOP_UP if command.escrow is None else PaymentPurpose.ESCROW_FUNDING,
                amount=command.amount,
                method=command.method,
                country=country,
                at=now,
                escrow=command.escrow,
            )
            payment.route_to(available[0])
            uow.payments.add(payment)
            # Scheduled with the intent, so even a crash before the call is looked up.
            uow.timers.schedule(
                Timer(
                    id=f"tmr_resolve_{payment.id}_0",
                    kind=TimerKinds.RESOLVE,
                    due_at=now + resolve_delay(0),
                    payload={"payment_id": payment.id, "step": 0},
                )
            )
            return Change(
                result=PaymentView.of(payment),
                target=f"payment:{payment.id}",
                after={
                    "status": payment.status.value,
                    "amount_minor": payment.amount.minor,
                    "currency": payment.amount.currency.code,
                    "provider": available[0],
                    "purpose": payment.purpose.value,
                },
                events=(
                    PaymentStarted(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=payment.id,
                        payment_id=payment.id,
                        payer_id=payment.payer_id,
                        amount=payment.amount,
                        provider=available[0],
                    ),
                ),
            )

        return body

    def _record(self, command: RecordChargeCommand) -> Callable[[PaymentsUnitOfWork], Change[PaymentView]]:
        def body(uow: PaymentsUnitOfWork) -> Change[PaymentView]:
            payment = uow.payments.lock(command.payment_id)
            target = f"payment:{payment.id}"
            recordable = payment.status is PaymentStatus.CREATED or (
                # A lost answer may be answered by a retry with the same key; never rerouted.
                payment.status is PaymentStatus.UNKNOWN and command.outcome != ChargeOutcome.UNAVAILABLE
            )
            if not recordable or payment.provider != command.provider:
                # A concurrent call, a webhook or the janitor got there first.
                return Change(result=PaymentView.of(payment), target=target, after={"status": payment.status.value})
            before = payment.status.value
            now = self._clock.now()
            events: list[DomainEvent] = []
            if (
                command.outcome == ChargeOutcome.ANSWERED
                and command.status is not None
                and command.provider_reference is not None
            ):
                knew_capture = payment.capture_reference is not None
                payment.answered(
                    ChargeResult(
                        provider=command.provider,
                        provider_reference=command.provider_reference,
                        status=command.status,
                        amount=payment.amount,
                        client_action=command.client_action,
                        capture_reference=command.capture_reference,
                    ),
                    at=now,
                )
                if command.status is ProviderStatus.CAPTURED and command.amount is not None:
                    events.extend(capture_reported(payment, command.amount, provider=command.provider, at=now))
                # Webhooks that overtook the answer wait in the inbox for the reference (or,
                # a refund naming only the capture, for the capture id the answer taught).
                _, alerts = apply_waiting_events(
                    uow,
                    payment,
                    at=now,
                    reference=command.provider_reference,
                    capture_reference=None if knew_capture else payment.capture_reference,
                )
                events.extend(alerts)
            elif command.outcome == ChargeOutcome.DECLINED:
                payment.declined(command.reason or "declined", at=now)
            elif command.outcome == ChargeOutcome.UNAVAILABLE:
                if command.next_provider is not None:
                    payment.route_to(command.next_provider)
                else:
                    payment.declined("no provider available", at=now)
            else:
                payment.outcome_unknown(at=now)
            events.extend(
                after_change(
                    uow,
                    payment,
                    before=before,
                    at=now,
                    initiated_by=command.by.ref,
                    routing=self._router.policy,
                    hold_warning=self._hold_warning,
                )
            )
            uow.payments.save(payment)
            return Change(
                result=PaymentView.of(payment),
                target=target,
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "outcome": command.outcome,
                    "provider": payment.provider or "",
                    "reference": payment.provider_reference or "",
                    "reason": payment.failure_reason,
                },
                events=tuple(events),
            )

        return body
