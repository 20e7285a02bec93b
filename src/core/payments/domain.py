"""Payments, their refunds, provider events, routing and the circuit breaker.

The payment status machine is **monotonic**: each status has a rank, and a payment only
ever moves up. What a provider tells us (a webhook, a lookup, the answer to a charge) is a
*fact* with a status; applying a fact takes the higher of the two ranks, so applying a
set of facts in any order, with any duplicates, ends in the same status::

    created, unknown (0) < requires_action (1) < authorized (2) < failed (3) < captured (4)

``captured`` outranks ``failed`` on purpose: a provider that reports a capture took the
money, whatever it said before (Hyperswitch: payments "change from Failed to Succeeded"),
and the money must reach the ledger. Once captured, ``partially_refunded`` and
``refunded`` are derived from the refunds that succeeded. Refunds are child records keyed
by the provider's refund reference, each with its own monotonic status
(pending < succeeded < failed: a provider may fail a refund it reported as succeeded,
never the other way round).

Money rules: a capture posts gateway clearing -> the payer's wallet once (the payment
remembers the entry); a lower capture reported after that posts one correction wallet ->
clearing for the difference; a refund posts wallet -> clearing once and, should it fail
later, the reverse once. The refunds booked never exceed what the wallet was credited.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import ClassVar, NewType

from attrs import define, field, frozen

from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import EntryId, EventId, new_id
from core.shared.money import MAX_MOVEMENT, Currency, Money

PaymentId = NewType("PaymentId", str)
RefundId = NewType("RefundId", str)

PLATFORM = "platform"  # the owner of platform ledger accounts (gateway clearing)


def new_payment_id() -> PaymentId:
    return PaymentId(new_id("pay"))


def new_refund_id() -> RefundId:
    return RefundId(new_id("rfd"))


def charge_key(payment_id: PaymentId) -> str:
    """The outbound idempotency key of a payment's charge, on every provider."""
    return f"{payment_id}:charge"


def capture_key(payment_id: PaymentId) -> str:
    """The outbound idempotency key of capturing a payment the payer approved (or a
    provider authorised without capturing): one capture per payment, whoever asks."""
    return f"{payment_id}:capture"


def refund_key(payment_id: PaymentId, refund_id: RefundId) -> str:
    """The outbound idempotency key of one refund."""
    return f"{payment_id}:refund:{refund_id}"


class Actions:
    """The actions of this context, as named in the authorisation policy."""

    TOP_UP = "payments.top_up"  # a client charges their own wallet
    CAPTURE = "payments.capture"  # the payer, back from approving; the system on a timer
    READ_PAYMENT = "payments.payment.read"
    READ_ANY_PAYMENT = "payments.payment.read_any"
    RECORD_CHARGE = "payments.charge.record"  # system: the gateway's answer, second transaction
    RECEIVE_EVENTS = "payments.events.receive"  # system: verified webhook events into the inbox
    APPLY_EVENT = "payments.events.apply"  # system: the consumer
    REFUND = "payments.refund"  # support / finance
    RESOLVE_UNKNOWN = "payments.unknown.resolve"  # system: the janitor
    RECONCILE = "payments.reconcile"  # finance, or the system on a schedule
    CHECK_HOLD_DEADLINE = "payments.hold_deadline.check"  # system: a timer
    # Finance: the final outcome of a refund or payment the provider never answered,
    # as its dashboard shows it (runbook payments-unresolved).
    SETTLE_BY_HAND = "payments.outcome.record_by_hand"

    ALL: ClassVar[frozenset[str]] = frozenset(
        {
            TOP_UP,
            CAPTURE,
            READ_PAYMENT,
            READ_ANY_PAYMENT,
            RECORD_CHARGE,
            RECEIVE_EVENTS,
            APPLY_EVENT,
            REFUND,
            RESOLVE_UNKNOWN,
            RECONCILE,
            CHECK_HOLD_DEADLINE,
            SETTLE_BY_HAND,
        }
    )


class TimerKinds:
    """The durable timers payments schedules (``core.shared.timers``)."""

    RESOLVE = "payments.resolve"  # payload: payment_id, step
    HOLD_DEADLINE = "payments.hold_deadline"  # payload: payment_id
    REFUND_RETRY = "payments.refund_retry"  # payload: payment_id, refund_id, step (fired by the janitor)
    CAPTURE = "payments.capture"  # payload: payment_id, step (an authorised payment to capture)

    ALL: ClassVar[frozenset[str]] = frozenset({RESOLVE, HOLD_DEADLINE, REFUND_RETRY, CAPTURE})


class EntryKinds:
    """The journal entry kinds payments posts, by their ledger names."""

    CAPTURE = "payment_capture"  # gateway clearing -> wallet
    REFUND = "payment_refund"  # wallet -> gateway clearing
    REFUND_REVERSAL = "payment_refund_reversal"  # a failed refund: clearing -> wallet
    CAPTURE_CORRECTION = "payment_capture_correction"  # a lower capture reported after posting: wallet -> clearing


class AccountKinds:
    WALLET = "wallet"
    GATEWAY_CLEARING = "gateway_clearing"  # label = the provider's name


# --- value types the ports speak ------------------------------------------------------


class PaymentMethod(enum.Enum):
    CARD = "card"
    PAYPAL = "paypal"
    SEPA_DEBIT = "sepa_debit"
    IDEAL = "ideal"
    BANK_TRANSFER = "bank_transfer"


class PaymentPurpose(enum.Enum):
    WALLET_TOP_UP = "wallet_top_up"  # credit the payer's wallet
    ESCROW_FUNDING = "escrow_funding"  # credit the wallet, then fund a milestone (by event)


class ProviderStatus(enum.Enum):
    """A provider's view of a payment, normalised by the adapter."""

    PROCESSING = "processing"  # accepted, nothing final yet
    REQUIRES_ACTION = "requires_action"  # the customer must act (3-D Secure, redirect, approve)
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"


class RefundStatus(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _REFUND_RANK[self]


_REFUND_RANK = {RefundStatus.PENDING: 0, RefundStatus.SUCCEEDED: 1, RefundStatus.FAILED: 2}


class ProviderEventKind(enum.Enum):
    """What a verified webhook says, normalised across providers."""

    PAYMENT_PROCESSING = "payment.processing"
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"  # one refund succeeded (amount = that refund)
    REFUND_FAILED = "refund.failed"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"
    CHARGEBACK = "payment.chargeback"  # a dispute or reversal opened (amount = disputed): alerted, no money moved
    OTHER = "other"  # verified but of no interest: stored, acknowledged, ignored


_COUNTRY = re.compile(r"^[A-Z]{2}$")


def country_code(value: object) -> str:
    """Validate an ISO 3166-1 alpha-2 country code (upper case)."""
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise InvalidInput("country", "an ISO 3166-1 alpha-2 code such as 'DE'")
    return value


def _amount(_inst: object, _attr: object, value: Money) -> None:
    if not isinstance(value, Money) or not 0 < value.minor <= MAX_MOVEMENT:
        raise InvalidInput("amount", f"a positive amount of at most {MAX_MOVEMENT} minor units")


def _aware(_inst: object, attr: object, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(getattr(attr, "name", "at"), "an aware datetime")


def _string_map(value: Mapping[str, str]) -> dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput("data", "maps strings to strings")
    return dict(value)


@frozen(kw_only=True)
class ClientAction:
    """What the customer must do to finish a payment: follow ``url`` (a redirect) or hand
    ``data`` to the provider's client SDK (``client_secret``, ``order_id``…). Never card
    data."""

    kind: str  # "redirect" | "sdk"
    url: str | None = None
    data: dict[str, str] = field(factory=dict, converter=_string_map, hash=False)


@frozen(kw_only=True)
class EscrowTarget:
    """The milestone an escrow-funding payment is for (escrow's ids, as plain strings)."""

    contract_id: str
    milestone_id: str


@frozen(kw_only=True)
class ChargeRequest:
    """One charge (create + confirm, capturing automatically) sent to one provider.
    ``idempotency_key`` is ``charge_key(payment_id)``; ``payment_id`` must be echoed back by
    the provider (metadata / merchant reference) so webhooks and lookups find us."""

    payment_id: PaymentId
    amount: Money = field(validator=_amount)
    method: PaymentMethod
    country: str
    payer_id: str
    payment_token: str | None = None  # the provider's tokenised instrument (pm_…), never a PAN
    return_url: str | None = None
    description: str = ""
    idempotency_key: str


@frozen(kw_only=True)
class ChargeResult:
    provider: str
    provider_reference: str
    status: ProviderStatus
    amount: Money
    client_action: ClientAction | None = None
    # The capture's own id, where the provider names captures apart from the payment
    # (PayPal: the order's capture; its refunds name the capture, not the order).
    capture_reference: str | None = None


@frozen(kw_only=True)
class CaptureRequest:
    """Capture a payment the provider holds authorised: a PayPal order the payer approved,
    a Stripe intent or Adyen payment authorised without automatic capture.
    ``idempotency_key`` is ``capture_key(payment_id)``."""

    payment_id: PaymentId
    provider_reference: str  # the payment's reference at the provider (order id, intent id, PSP reference)
    amount: Money = field(validator=_amount)
    idempotency_key: str


@frozen(kw_only=True)
class RefundRequest:
    payment_id: PaymentId
    refund_id: RefundId
    provider_reference: str  # the payment's reference at the provider
    amount: Money = field(validator=_amount)
    idempotency_key: str  # refund_key(payment_id, refund_id)


@frozen(kw_only=True)
class RefundResult:
    provider_refund_reference: str
    status: RefundStatus


@frozen(kw_only=True)
class PayoutRequest:
    payout_id: str
    destination: str  # the provider's reference of the payee's account / email / instrument
    amount: Money = field(validator=_amount)
    idempotency_key: str


@frozen(kw_only=True)
class PayoutResult:
    reference: str
    status: str  # the provider's own word: "pending", "paid", "in_transit"…


@frozen(kw_only=True)
class ProviderPayment:
    """A provider's record of a payment, as a lookup finds it."""

    provider: str
    provider_reference: str
    payment_id: PaymentId | None
    status: ProviderStatus
    amount: Money
    refunded: Money | None = None
    capture_reference: str | None = None  # as in ChargeResult


class SettlementKind(enum.Enum):
    CHARGE = "charge"
    REFUND = "refund"
    PAYOUT = "payout"  # the platform's money sent to a payee: escrow's payouts (Stripe tr_…, PayPal T0001)
    FEE = "fee"
    CHARGEBACK = "chargeback"
    ADJUSTMENT = "adjustment"
    # The provider paying the platform's own balance out to the platform's bank (Stripe
    # po_…, Adyen MerchantPayout, PayPal T04nn): not a payout of ours, never matched.
    WITHDRAWAL = "withdrawal"


@frozen(kw_only=True)
class SettlementLine:
    """One line of a provider's settlement report / balance transactions.
    ``gross``, ``fee`` and ``net`` share one currency; a refund's gross is negative in
    the provider's books but is given here as a positive amount with kind REFUND."""

    # CHARGE: the payment's reference at the provider; REFUND: the refund's own reference
    # (Stripe re_…, Adyen's modification PSP reference, PayPal's refund id); PAYOUT: what
    # ``PaymentGateway.payout`` answered where the report names it (Stripe tr_…), else the
    # line's own id (PayPal's transaction id), with ``payout_id`` naming ours.
    provider_reference: str
    kind: SettlementKind
    gross: Money
    fee: Money
    net: Money
    booked_at: datetime = field(validator=_aware)
    payment_id: PaymentId | None = None  # when the provider echoes ours
    payout_id: str | None = None  # escrow's payout id, when the provider echoes it (PAYOUT lines)

    @property
    def currency(self) -> Currency:
        return self.gross.currency


@frozen(kw_only=True)
class ProviderEvent:
    """A verified, normalised webhook event. Deduplicated by (provider, provider_event_id).

    ``provider_reference`` is the payment's reference at the provider (for refund events
    too, when the provider names it); ``capture_reference`` the capture's own id where the
    provider has one (PayPal: a capture event's resource, a refund's "up" link);
    ``refund_reference`` names the refund for refund events; ``payment_id`` and
    ``refund_id`` are ours when the provider echoes them."""

    provider: str
    provider_event_id: str
    kind: ProviderEventKind
    provider_reference: str | None
    occurred_at: datetime = field(validator=_aware)
    payment_id: PaymentId | None = None
    amount: Money | None = None
    refund_reference: str | None = None
    refund_id: RefundId | None = None
    reason: str = ""  # a decline or failure reason, when there is one
    capture_reference: str | None = None


# --- errors ---------------------------------------------------------------------------


@frozen
class PaymentNotFound(DomainError):
    """Also raised for a payment that is not the actor's to see."""

    code: ClassVar[str] = "payment_not_found"
    title: ClassVar[str] = "No such payment"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    payment_id: str

    @property
    def detail(self) -> str:
        return f"payment {self.payment_id} does not exist"


@frozen
class PaymentNotCaptured(DomainError):
    code: ClassVar[str] = "payment_not_captured"
    title: ClassVar[str] = "Only a captured payment can be refunded"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payment_id: str
    status: str

    @property
    def detail(self) -> str:
        return f"payment {self.payment_id} is {self.status}; only a captured payment can be refunded"


@frozen
class RefundExceedsCaptured(DomainError):
    code: ClassVar[str] = "refund_exceeds_captured"
    title: ClassVar[str] = "The refunds would exceed what was captured"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    payment_id: str
    refundable: Money
    requested: Money

    @property
    def detail(self) -> str:
        return f"payment {self.payment_id} has {self.refundable} left to refund; {self.requested} was requested"


@frozen
class RefundStillSent(DomainError):
    """A refund whose call the janitor still sends (it has no answer and may be sent again
    with its key) cannot be recorded failed by hand: a call in flight could refund the card
    while the record books the money back. It can be once the provider accepted it (it has
    a reference) or the janitor holds it (past the resend window)."""

    code: ClassVar[str] = "refund_still_sent"
    title: ClassVar[str] = "The refund is still being sent to the provider"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payment_id: str
    refund_id: str

    @property
    def detail(self) -> str:
        return (
            f"refund {self.refund_id} of payment {self.payment_id} is still sent to the provider by the janitor; "
            "record it failed once the provider accepted it or the janitor holds it"
        )


@frozen
class RefundNotPending(DomainError):
    """Only a pending refund's outcome can be recorded by hand: a final one was settled
    by the provider's answer (or an earlier record) and its ledger entries are booked."""

    code: ClassVar[str] = "refund_not_pending"
    title: ClassVar[str] = "The refund is no longer pending"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payment_id: str
    refund_id: str
    status: str

    @property
    def detail(self) -> str:
        return f"refund {self.refund_id} of payment {self.payment_id} is {self.status}, not pending"


@frozen
class PaymentNotUnresolved(DomainError):
    """Only a payment without a provider's answer (created, unknown) can have its outcome
    recorded by hand: any other status came from the provider and is booked."""

    code: ClassVar[str] = "payment_not_unresolved"
    title: ClassVar[str] = "The payment has a provider's answer already"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payment_id: str
    status: str

    @property
    def detail(self) -> str:
        return f"payment {self.payment_id} is {self.status}, not unknown or created"


@frozen
class NoProviderAvailable(DomainError):
    """No configured provider takes this currency, country and method, or every one that
    does is unavailable (its circuit is open) right now."""

    code: ClassVar[str] = "no_provider_available"
    title: ClassVar[str] = "No payment provider can take this payment now"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE
    currency: str
    country: str
    method: str

    @property
    def detail(self) -> str:
        return f"no payment provider is available for {self.method} in {self.currency} from {self.country}"


@frozen
class NoProviderConfigured(DomainError):
    code: ClassVar[str] = "no_provider_configured"
    title: ClassVar[str] = "No payment provider takes this kind of payment"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    currency: str
    country: str
    method: str

    @property
    def detail(self) -> str:
        return f"no payment provider takes {self.method} in {self.currency} from {self.country}"


@frozen
class WebhookRejected(DomainError):
    """A webhook that cannot be trusted: bad or missing signature, expired timestamp,
    unknown secret, malformed body. Nothing was stored. HTTP answers 400."""

    code: ClassVar[str] = "webhook_rejected"
    title: ClassVar[str] = "The webhook could not be verified"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID
    reason: str

    @property
    def detail(self) -> str:
        return f"webhook rejected: {self.reason}"


# --- the payment aggregate ------------------------------------------------------------


class PaymentStatus(enum.Enum):
    CREATED = "created"  # intent stored; not (yet) answered by a provider
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # sent, but the answer was lost: only the janitor moves it on

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_captured(self) -> bool:
        return self.rank >= _RANK[PaymentStatus.CAPTURED]

    @property
    def is_open(self) -> bool:
        """Not final: a provider may still tell us more that matters for the ledger."""
        return self.rank < _RANK[PaymentStatus.FAILED]


_RANK = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.UNKNOWN: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.AUTHORIZED: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CAPTURED: 4,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 4,
}

_FROM_PROVIDER = {
    ProviderStatus.PROCESSING: None,
    ProviderStatus.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
    ProviderStatus.AUTHORIZED: PaymentStatus.AUTHORIZED,
    ProviderStatus.CAPTURED: PaymentStatus.CAPTURED,
    ProviderStatus.FAILED: PaymentStatus.FAILED,
}

EVENT_STATUS: Mapping[ProviderEventKind, ProviderStatus] = MappingProxyType(
    {
        ProviderEventKind.PAYMENT_PROCESSING: ProviderStatus.PROCESSING,
        ProviderEventKind.PAYMENT_REQUIRES_ACTION: ProviderStatus.REQUIRES_ACTION,
        ProviderEventKind.PAYMENT_AUTHORIZED: ProviderStatus.AUTHORIZED,
        ProviderEventKind.PAYMENT_CAPTURED: ProviderStatus.CAPTURED,
        ProviderEventKind.PAYMENT_FAILED: ProviderStatus.FAILED,
    }
)


@define(eq=False)
class Refund:
    """One refund of a payment. ``entry_id``: its wallet -> clearing entry (posted at the
    request for refunds we ask for, on success for refunds made at the provider);
    ``reversal_entry_id``: the clearing -> wallet entry of a refund that failed after
    it was posted. Each is posted once."""

    id: RefundId
    amount: Money
    status: RefundStatus
    requested_by: str
    requested_at: datetime
    provider_reference: str | None = None
    reason: str = ""
    entry_id: EntryId | None = None
    reversal_entry_id: EntryId | None = None
    unfunded: bool = False  # the provider refunded money the wallet no longer holds (alerted)
    # The provider refunded more than the payment credited the wallet (alerted once, never
    # booked while it does not fit; booked if room appears, as when another refund fails).
    exceeds_credited: bool = False
    # When a call for it first got no answer that rules out its reaching the provider (a
    # timeout after sending, a 5xx): the provider may hold the refund under its key since.
    maybe_sent_at: datetime | None = None

    def observe(self, status: RefundStatus) -> bool:
        """Move up to ``status`` if it ranks higher; True if it changed."""
        if status.rank > self.status.rank:
            self.status = status
            return True
        return False

    @property
    def counts(self) -> bool:
        """Whether it uses up refundable money (pending or succeeded)."""
        return self.status is not RefundStatus.FAILED

    def maybe_sent(self, at: datetime) -> None:
        """A call for it got no answer and may have reached the provider; the first such
        moment is kept (the provider's key dates from the first call it received)."""
        if self.maybe_sent_at is None:
            self.maybe_sent_at = at

    def may_resend(self, at: datetime) -> bool:
        """Whether its call may be sent again at ``at`` with its key: always if no call may
        have reached the provider, else only within ``REFUND_RESEND_WINDOW`` of the first
        that may have."""
        return self.maybe_sent_at is None or at - self.maybe_sent_at < REFUND_RESEND_WINDOW


@define(eq=False)
class Payment:
    """Money a payer sends us through one provider. ``provider`` and ``attempted`` record
    routing: ``attempted`` lists the providers tried that were unavailable (never charged)
    before ``provider`` took the charge."""

    id: PaymentId
    payer_id: str
    purpose: PaymentPurpose
    amount: Money
    method: PaymentMethod
    country: str
    status: PaymentStatus
    created_at: datetime
    escrow: EscrowTarget | None = None
    provider: str | None = None
    provider_reference: str | None = None
    # The capture's id at the provider where it differs from ``provider_reference``
    # (PayPal), unique per provider: a refund made in the dashboard names only it.
    capture_reference: str | None = None
    attempted: tuple[str, ...] = ()
    client_action: ClientAction | None = None
    failure_reason: str = ""
    captured_at: datetime | None = None
    # What the provider reported capturing, when it said; None: the intent's amount.
    captured: Money | None = None
    capture_entry_id: EntryId | None = None
    # A lower capture reported after the capture was posted (the payment's currency): the
    # credit corrected down to it by one entry wallet -> clearing, ``correction_entry_id``;
    # ``correction_unfunded`` when the wallet no longer held the difference (alerted).
    corrected: Money | None = None
    correction_entry_id: EntryId | None = None
    correction_unfunded: bool = False
    refunds: list[Refund] = field(factory=list)
    unknown_since: datetime | None = None
    hold_deadline: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    @classmethod
    def start(
        cls,
        *,
        payer_id: str,
        purpose: PaymentPurpose,
        amount: Money,
        method: PaymentMethod,
        country: str,
        at: datetime,
        escrow: EscrowTarget | None = None,
        payment_id: PaymentId | None = None,
    ) -> Payment:
        _amount(None, None, amount)
        if (purpose is PaymentPurpose.ESCROW_FUNDING) != (escrow is not None):
            raise InvalidInput("escrow", "an escrow funding names its milestone; a top-up names none")
        return cls(
            id=payment_id or new_payment_id(),
            payer_id=payer_id,
            purpose=purpose,
            amount=amount,
            method=method,
            country=country_code(country),
            status=PaymentStatus.CREATED,
            created_at=at,
            escrow=escrow,
            updated_at=at,
        )

    # -- routing and the charge call --

    def route_to(self, provider: str) -> None:
        """Record that the charge goes to ``provider`` next. Only while nothing was sent
        with an unknown outcome: a payment never moves to a second provider unless the
        first was certainly not charged (unavailable)."""
        if self.status is not PaymentStatus.CREATED:
            raise IllegalPaymentTransition(self.id, self.status.value, "route")
        if self.provider is not None and self.provider != provider:
            self.attempted = (*self.attempted, self.provider)
        self.provider = provider

    def outcome_unknown(self, *, at: datetime) -> None:
        """The charge was sent and no answer came back: only the janitor resolves it."""
        if self.status is PaymentStatus.CREATED:
            self.status = PaymentStatus.UNKNOWN
            self.unknown_since = at
            self.updated_at = at

    def declined(self, reason: str, *, at: datetime) -> bool:
        return self.observe(ProviderStatus.FAILED, at=at, reason=reason)

    def answered(self, result: ChargeResult, *, at: datetime) -> bool:
        """The provider's answer to the charge (or a lookup). True if the status moved."""
        if self.provider_reference is None:
            self.provider_reference = result.provider_reference
        self.learn_capture(result.capture_reference)
        if result.client_action is not None:
            self.client_action = result.client_action
        return self.observe(result.status, at=at)

    def learn_capture(self, capture_reference: str | None) -> bool:
        """Remember the provider's capture id (the first one told); True if it was new."""
        if capture_reference is None or self.capture_reference is not None:
            return False
        self.capture_reference = capture_reference
        return True

    # -- facts from the provider --

    def capture_reported(self, amount: Money) -> bool:
        """The amount the provider says it captured. Until the capture is posted, of two
        reports the lower counts (one in the payment's currency beats one in another, so
        the order they arrive in does not matter). Afterwards a lower report in the
        payment's currency is what the credit is corrected down to (``correction_due``):
        one correction, so only until it is posted or found unfunded; later reports, and
        higher ones, change nothing (the alert tells finance). True if it differs from the
        intent (someone must look)."""
        currency = self.amount.currency
        if self.capture_entry_id is None:
            known = self.captured
            if (
                known is None
                or (known.currency != currency and amount.currency == currency)
                or (known.currency == amount.currency and amount.minor < known.minor)
            ):
                self.captured = amount
        elif self.correction_entry_id is None and not self.correction_unfunded and amount.currency == currency:
            lowest = self._first_credit if self.corrected is None else self.corrected
            if amount.minor < lowest.minor:
                self.corrected = amount
        return amount != self.amount

    @property
    def credited(self) -> Money:
        """What the payer's wallet was credited for it: what the provider reported capturing,
        never more than the intent (an excess stays in gateway clearing for finance),
        nothing if it captured another currency (the alert tells finance), and once a
        correction is posted, what it corrected the credit to."""
        first = self._first_credit
        if self.correction_entry_id is None or self.corrected is None:
            return first
        return Money(min(max(self.corrected.minor, 0), first.minor), first.currency)

    @property
    def _first_credit(self) -> Money:
        """What the capture entry credits (or credited): the report that counted, at most the intent."""
        captured = self.captured
        if captured is None:
            return self.amount
        if captured.currency != self.amount.currency:
            return Money(0, self.amount.currency)
        return Money(min(max(captured.minor, 0), self.amount.minor), self.amount.currency)

    @property
    def correction_due(self) -> Money | None:
        """The difference a lower report after posting takes back from the wallet, while
        neither posted nor found unfunded; None when nothing is due."""
        if self.capture_entry_id is None or self.correction_entry_id is not None or self.correction_unfunded:
            return None
        if self.corrected is None:
            return None
        due = self._first_credit.minor - max(self.corrected.minor, 0)
        return Money(due, self.amount.currency) if due > 0 else None

    def correction_posted(self, entry_id: EntryId, *, at: datetime) -> None:
        """The correction's entry is booked: the credit is now ``corrected``."""
        self.correction_entry_id = entry_id
        self._derive_refund_status()
        self.updated_at = at

    @property
    def refunds_booked(self) -> Money:
        """What refunds took from the wallet and still hold (posted, not reversed)."""
        return Money(
            sum(r.amount.minor for r in self.refunds if r.entry_id is not None and r.reversal_entry_id is None),
            self.amount.currency,
        )

    def refund_fits(self, refund: Refund) -> bool:
        """Whether booking ``refund`` keeps the refunds booked within what was credited."""
        return refund.amount.minor <= self.credited.minor - self.refunds_booked.minor

    def observe(self, status: ProviderStatus, *, at: datetime, reason: str = "") -> bool:
        """Take the higher-ranked status (the machine never goes back); True if the status
        moved. PROCESSING only tells us the provider has it: an unknown payment is
        known again (created)."""
        target = _FROM_PROVIDER[status]
        if target is None:
            if self.status is PaymentStatus.UNKNOWN:
                self.status = PaymentStatus.CREATED
                self.updated_at = at
                return True
            return False
        if target.rank <= self.status.rank:
            return False
        if target is PaymentStatus.FAILED:
            self.failure_reason = reason or "failed"
        if target is PaymentStatus.CAPTURED:
            self.captured_at = at
        self.status = target
        self._derive_refund_status()
        self.updated_at = at
        return True

    def refund_observed(
        self,
        *,
        provider_refund_reference: str | None,
        refund_id: RefundId | None,
        amount: Money | None,
        status: RefundStatus,
        at: datetime,
    ) -> Refund:
        """A refund fact from the provider: updates the known refund (by our id, then by
        its provider reference) or records one made outside gigcore (in the provider's
        dashboard). Returns the refund."""
        refund = self._find_refund(refund_id, provider_refund_reference)
        if refund is None:
            if amount is None:
                raise InvalidInput("amount", "a refund the payment does not know must carry its amount")
            # Not one of ours (those exist before the provider hears of them), so an echoed
            # ``refund_id`` is only the provider's merchant reference, which several
            # dashboard refunds may share: the provider's own refund reference names it.
            refund = Refund(
                id=_derived_refund_id(self.id, provider_refund_reference)
                if provider_refund_reference is not None
                else (refund_id or _derived_refund_id(self.id, None)),
                amount=amount,
                status=RefundStatus.PENDING,
                requested_by="provider",
                requested_at=at,
                provider_reference=provider_refund_reference,
            )
            self.refunds.append(refund)
        elif refund.provider_reference is None and provider_refund_reference is not None:
            refund.provider_reference = provider_refund_reference
        refund.observe(status)
        self._derive_refund_status()
        self.updated_at = at
        return refund

    # -- refunds we ask for --

    @property
    def refundable(self) -> Money:
        """What is left to refund: never above what was captured and credited."""
        used = sum(r.amount.minor for r in self.refunds if r.counts)
        return Money(max(self.credited.minor - used, 0), self.amount.currency)

    def request_refund(self, amount: Money, *, by: str, at: datetime, refund_id: RefundId | None = None) -> Refund:
        """A new pending refund within what is left. Raises PaymentNotCaptured,
        RefundExceedsCaptured, InvalidInput, CurrencyMismatch."""
        if not self.status.is_captured:
            raise PaymentNotCaptured(self.id, self.status.value)
        _amount(None, None, amount)
        if amount.exceeds(self.refundable):
            raise RefundExceedsCaptured(self.id, self.refundable, amount)
        refund = Refund(
            id=refund_id or new_refund_id(),
            amount=amount,
            status=RefundStatus.PENDING,
            requested_by=by,
            requested_at=at,
        )
        self.refunds.append(refund)
        self.updated_at = at
        return refund

    def refund(self, refund_id: str) -> Refund:
        for r in self.refunds:
            if r.id == refund_id:
                return r
        raise InvalidInput("refund_id", f"payment {self.id} has no refund {refund_id}")

    @property
    def refunded(self) -> Money:
        return Money(
            sum(r.amount.minor for r in self.refunds if r.status is RefundStatus.SUCCEEDED), self.amount.currency
        )

    def _find_refund(self, refund_id: str | None, reference: str | None) -> Refund | None:
        # By ids only, never by amount: a refund made in the provider's dashboard for the
        # same amount as our pending one (whose answer was lost) is another refund, and
        # taking it for ours would pay the payer twice. Every provider echoes our refund id.
        for r in self.refunds:
            if refund_id is not None and r.id == refund_id:
                return r
        for r in self.refunds:
            if reference is not None and r.provider_reference == reference:
                return r
        return None

    def _derive_refund_status(self) -> None:
        if not self.status.is_captured:
            return
        refunded = self.refunded.minor
        if refunded <= 0:
            self.status = PaymentStatus.CAPTURED
        elif refunded >= self.credited.minor:
            self.status = PaymentStatus.REFUNDED
        else:
            self.status = PaymentStatus.PARTIALLY_REFUNDED


def _derived_refund_id(payment_id: str, reference: str | None) -> RefundId:
    # Deterministic, so the same dashboard refund seen twice (two events) is one record.
    digest = hashlib.sha256(f"{payment_id}|{reference}".encode()).hexdigest()[:32]
    return RefundId(f"rfd_{digest}")


@frozen
class IllegalPaymentTransition(DomainError):
    code: ClassVar[str] = "illegal_payment_transition"
    title: ClassVar[str] = "The action is not possible in the payment's current state"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    payment_id: str
    state: str
    action: str

    @property
    def detail(self) -> str:
        return f"payment {self.payment_id} is {self.state}: {self.action} is not possible now"


# --- routing and the circuit breaker --------------------------------------------------


@frozen(kw_only=True)
class Route:
    """One provider's terms: which currencies, countries and methods it takes (empty =
    any), and its place in the fallback order (lower first)."""

    provider: str
    priority: int = 100
    currencies: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    methods: frozenset[PaymentMethod] = frozenset()
    hold_limit: timedelta | None = None  # how long the provider lets funds sit unpaid out

    def takes(self, currency: Currency, country: str, method: PaymentMethod) -> bool:
        return (
            (not self.currencies or currency.code in self.currencies)
            and (not self.countries or country in self.countries)
            and (not self.methods or method in self.methods)
        )


@frozen(kw_only=True)
class RoutingPolicy:
    """A pure policy: the providers that take a payment, in fallback order."""

    routes: tuple[Route, ...]

    def candidates(self, currency: Currency, country: str, method: PaymentMethod) -> list[str]:
        chosen = [r for r in self.routes if r.takes(currency, country, method)]
        # A provider with several matching routes takes its first place, once.
        return list(dict.fromkeys(r.provider for r in sorted(chosen, key=lambda r: (r.priority, r.provider))))

    def route(self, provider: str) -> Route | None:
        for r in self.routes:
            if r.provider == provider:
                return r
        return None


@frozen(kw_only=True)
class BreakerPolicy:
    failure_threshold: int = 3  # consecutive unavailable answers that open the circuit
    cool_down: timedelta = timedelta(seconds=30)  # open -> half-open after this


class BreakerMode(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@frozen(kw_only=True)
class BreakerState:
    """A provider's circuit. Pure: transitions return a new state."""

    provider: str
    consecutive_failures: int = 0
    opened_at: datetime | None = None

    def mode(self, now: datetime, policy: BreakerPolicy) -> BreakerMode:
        if self.opened_at is None:
            return BreakerMode.CLOSED
        if now >= self.opened_at + policy.cool_down:
            return BreakerMode.HALF_OPEN
        return BreakerMode.OPEN

    def allows(self, now: datetime, policy: BreakerPolicy) -> bool:
        """Closed and half-open circuits let a call through (half-open: a trial)."""
        return self.mode(now, policy) is not BreakerMode.OPEN

    def succeeded(self) -> BreakerState:
        return BreakerState(provider=self.provider)

    def failed(self, now: datetime, policy: BreakerPolicy) -> BreakerState:
        failures = self.consecutive_failures + 1
        half_open = self.opened_at is not None
        opens = half_open or failures >= policy.failure_threshold
        return BreakerState(provider=self.provider, consecutive_failures=failures, opened_at=now if opens else None)


# --- the janitor's backoff ------------------------------------------------------------

# Kill Bill's janitor schedule: minutes, then hours, then daily (reference section 3).
RESOLVE_BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
    timedelta(days=1),
)


# How long after a refund call that may have reached the provider it may still be sent
# again with the same key. Providers keep a key's answer only for a while (Stripe: 24 hours;
# Adyen and PayPal longer): past that, a resent key is a new refund, and the refund might
# be made twice. 20 hours leaves a margin under Stripe's 24 for clocks and slow calls.
REFUND_RESEND_WINDOW = timedelta(hours=20)


def resolve_delay(step: int) -> timedelta:
    """The wait before re-query number ``step`` (0-based); daily after the schedule."""
    return RESOLVE_BACKOFF[min(max(step, 0), len(RESOLVE_BACKOFF) - 1)]


# --- reconciliation -------------------------------------------------------------------


class MatchKind(enum.Enum):
    MATCHED = "matched"
    MISSING_OURS = "missing_ours"  # the provider settled it; we have no record
    MISSING_THEIRS = "missing_theirs"  # we captured/refunded/paid it out; the report has no line
    AMOUNT_MISMATCH = "amount_mismatch"


@frozen(kw_only=True)
class ReconciliationItem:
    kind: MatchKind
    provider_reference: str
    settlement_kind: SettlementKind
    ours: Money | None
    theirs: Money | None
    payment_id: PaymentId | None = None
    payout_id: str | None = None  # PAYOUT items: escrow's payout (ours, or the one the line echoes)

    @property
    def is_discrepancy(self) -> bool:
        return self.kind is not MatchKind.MATCHED


@frozen(kw_only=True)
class OurPayout:
    """A payout escrow made through a provider, as reconciliation reads it: the reference
    the provider's payout answer gave, what left the platform, and when our books recorded
    it as paid. Escrow's ids are plain strings here (payments does not import escrow)."""

    payout_id: str
    reference: str
    amount: Money
    paid_at: datetime = field(validator=_aware)


@frozen(kw_only=True)
class OurSide:
    """What our books say moved through a provider: one capture, one refund (naming the
    payment) or one payout (naming escrow's payout)."""

    provider_reference: str
    kind: SettlementKind  # CHARGE, REFUND or PAYOUT
    amount: Money
    payment_id: PaymentId | None = None
    payout_id: str | None = None


_MATCHED_KINDS = frozenset({SettlementKind.CHARGE, SettlementKind.REFUND, SettlementKind.PAYOUT})


def reconcile(ours: Iterable[OurSide], theirs: Iterable[SettlementLine]) -> list[ReconciliationItem]:
    """Match our captures, refunds and payouts against the provider's charge, refund and
    payout lines by (provider reference, kind), comparing gross amounts. A payout line
    whose reference is none of our payouts' but that names one of our payouts
    (``payout_id``: PayPal's report has the item's transaction id, never the batch id its
    payout answer gave) is matched to that payout. Fee, chargeback, adjustment and
    withdrawal lines are not matched here (they are the provider's own movements).
    The result is ordered by (reference, kind)."""
    mine: dict[tuple[str, SettlementKind], OurSide] = {(o.provider_reference, o.kind): o for o in ours}
    our_payouts = {o.payout_id: o.provider_reference for o in mine.values() if o.payout_id is not None}
    their: dict[tuple[str, SettlementKind], SettlementLine] = {}
    for line in theirs:
        if line.kind not in _MATCHED_KINDS:
            continue
        key: tuple[str, SettlementKind] = (line.provider_reference, line.kind)
        if line.kind is SettlementKind.PAYOUT and key not in mine and line.payout_id is not None:
            key = (our_payouts.get(line.payout_id, line.provider_reference), line.kind)
        known = their.get(key)
        # Several lines for one reference (split settlement) add up.
        their[key] = (
            line
            if known is None
            else SettlementLine(
                provider_reference=line.provider_reference,
                kind=line.kind,
                gross=known.gross.plus(line.gross),
                fee=known.fee.plus(line.fee),
                net=known.net.plus(line.net),
                booked_at=max(known.booked_at, line.booked_at),
                payment_id=known.payment_id or line.payment_id,
                payout_id=known.payout_id or line.payout_id,
            )
        )
    items: list[ReconciliationItem] = []
    for key in sorted(set(mine) | set(their), key=lambda k: (k[0], k[1].value)):
        o, t = mine.get(key), their.get(key)
        payment_id = o.payment_id if o is not None else (t.payment_id if t is not None else None)
        payout_id = o.payout_id if o is not None else (t.payout_id if t is not None else None)
        ours_amount = o.amount if o is not None else None
        theirs_amount = t.gross if t is not None else None
        if o is None:
            kind = MatchKind.MISSING_OURS
        elif t is None:
            kind = MatchKind.MISSING_THEIRS
        elif ours_amount != theirs_amount:
            kind = MatchKind.AMOUNT_MISMATCH
        else:
            kind = MatchKind.MATCHED
        items.append(
            ReconciliationItem(
                kind=kind,
                provider_reference=key[0],
                settlement_kind=key[1],
                ours=ours_amount,
                theirs=theirs_amount,
                payment_id=payment_id,
                payout_id=payout_id,
            )
        )
    return items


# --- views and events -----------------------------------------------------------------


@frozen(kw_only=True)
class RefundView:
    refund_id: RefundId
    amount: Money
    status: RefundStatus
    provider_reference: str | None

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        return cls(
            refund_id=refund.id,
            amount=refund.amount,
            status=refund.status,
            provider_reference=refund.provider_reference,
        )


@frozen(kw_only=True)
class PaymentView:
    payment_id: PaymentId
    payer_id: str
    purpose: PaymentPurpose
    amount: Money
    status: PaymentStatus
    provider: str | None
    provider_reference: str | None
    client_action: ClientAction | None
    failure_reason: str
    refunded: Money
    refunds: tuple[RefundView, ...]
    capture_entry_id: EntryId | None
    created_at: datetime
    # What the capture put in the payer's wallet (after any correction); zero until posted.
    credited: Money | None = None

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        return cls(
            payment_id=payment.id,
            payer_id=payment.payer_id,
            purpose=payment.purpose,
            amount=payment.amount,
            status=payment.status,
            provider=payment.provider,
            provider_reference=payment.provider_reference,
            client_action=payment.client_action,
            failure_reason=payment.failure_reason,
            refunded=payment.refunded,
            refunds=tuple(RefundView.of(r) for r in payment.refunds),
            capture_entry_id=payment.capture_entry_id,
            created_at=payment.created_at,
            credited=payment.credited if payment.capture_entry_id is not None else Money(0, payment.amount.currency),
        )


@frozen(kw_only=True)
class PaymentStarted(DomainEvent):
    name: ClassVar[str] = "payments.payment_started"
    payment_id: PaymentId
    payer_id: str
    amount: Money
    provider: str


@frozen(kw_only=True)
class PaymentStatusChanged(DomainEvent):
    name: ClassVar[str] = "payments.payment_status_changed"
    payment_id: PaymentId
    status: PaymentStatus
    provider: str | None


@frozen(kw_only=True)
class PaymentCaptured(DomainEvent):
    """The money is in the payer's wallet. For an escrow funding, escrow's consumer funds
    ``escrow`` from that wallet (hand-off by event; the contexts do not import each other)."""

    name: ClassVar[str] = "payments.payment_captured"
    payment_id: PaymentId
    payer_id: str
    amount: Money
    provider: str
    purpose: PaymentPurpose
    escrow: EscrowTarget | None
    entry_id: EntryId
    hold_deadline: datetime | None


@frozen(kw_only=True)
class PaymentRefunded(DomainEvent):
    name: ClassVar[str] = "payments.payment_refunded"
    payment_id: PaymentId
    refund_id: RefundId
    amount: Money
    entry_id: EntryId


@frozen(kw_only=True)
class ProviderEventReceived(DomainEvent):
    """A verified webhook event was stored in the inbox; its consumer applies it."""

    name: ClassVar[str] = "payments.provider_event_received"
    provider: str
    provider_event_id: str


class AlertKind(enum.Enum):
    RECONCILIATION_DISCREPANCY = "reconciliation_discrepancy"
    HOLD_DEADLINE_APPROACHING = "hold_deadline_approaching"
    CAPTURED_AMOUNT_MISMATCH = "captured_amount_mismatch"
    REFUND_UNFUNDED = "refund_unfunded"
    UNKNOWN_UNRESOLVED = "unknown_unresolved"
    FOREIGN_PROVIDER_EVENT = "foreign_provider_event"  # a provider we did not route to reports a capture
    REFUND_CURRENCY_MISMATCH = "refund_currency_mismatch"  # a refund event in another currency (not applied)
    REFUND_UNRESOLVED = "refund_unresolved"  # a refund the provider has not answered, now retried daily
    CHARGEBACK = "chargeback"  # the payer disputed a payment (no money moved automatically)
    CAPTURE_UNRESOLVED = "capture_unresolved"  # an authorised payment not captured yet, now tried daily
    CAPTURE_CORRECTION_UNFUNDED = "capture_correction_unfunded"  # a lower capture the wallet no longer holds
    REFUND_EXCEEDS_CREDITED = "refund_exceeds_credited"  # a provider refund beyond what the wallet was credited


@frozen(kw_only=True)
class PaymentAlertRaised(DomainEvent):
    """Something a human (finance, on call) must look at."""

    name: ClassVar[str] = "payments.alert_raised"
    kind: AlertKind
    provider: str
    summary: str
    payment_id: PaymentId | None = None
    details: tuple[str, ...] = ()

    @classmethod
    def about(
        cls, payment_id: PaymentId, *, kind: AlertKind, provider: str, at: datetime, summary: str
    ) -> PaymentAlertRaised:
        """An alert about one payment (the payment is its aggregate)."""
        return cls(
            event_id=EventId(new_id("evt")),
            occurred_at=at,
            aggregate_id=payment_id,
            kind=kind,
            provider=provider,
            payment_id=payment_id,
            summary=summary,
        )
