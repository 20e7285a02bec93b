"""What payments needs from the outside world.

Port API in short (names are stable; adapters in ``adapters/payments`` implement them):

- ``PaymentGateway`` (one per provider; ``name`` = "stripe" | "adyen" | "paypal" | …):
  ``charge(ChargeRequest) -> ChargeResult``, ``capture(CaptureRequest) -> ChargeResult``,
  ``refund(RefundRequest) -> RefundResult``,
  ``payout(PayoutRequest) -> PayoutResult``,
  ``lookup(payment_id, provider_reference) -> ProviderPayment | None``,
  ``refund_status(provider_refund_reference) -> RefundStatus | None``,
  ``settlement_report(start, end) -> list[SettlementLine]``, ``reports_payouts`` (whether
  that report lists the payouts ``payout`` made).
  Errors: ``GatewayDeclined`` (final for the key), ``GatewayUnavailable`` (the request
  certainly took no effect: retry with the same key, or fall back to another provider),
  ``GatewayOutcomeUnknown`` (sent, answer lost: never fall back; the janitor looks it up).
  Outbound idempotency keys come in the request (``charge_key``/``refund_key`` in
  ``domain``), derived from our stored ids, never random.
- ``WebhookVerifier`` (one per provider): ``verify(headers, body, now) -> list[ProviderEvent]``,
  raising ``WebhookRejected(reason)`` (HTTP 400); header names are matched
  case-insensitively by the verifier.
- ``RoutingState``: circuit-breaker state per provider (``get``, ``update``), outside any
  unit of work.
- Inside ``PaymentsUnitOfWork``: ``payments`` (``Payments``), ``provider_events``
  (``ProviderEventInbox``), ``timers`` (shared ``Timers``), ``book`` (``PaymentsBook``,
  implemented by the ledger's ``LedgerBook``) and ``payouts_made`` (``PayoutsMade``:
  escrow's paid payouts, read for reconciliation, as escrow reads identity through
  ``Parties``).

Lock order, as in escrow: the idempotency key (``CommandRunner``), the timer, the
provider event, the payment row, the ledger accounts (``PaymentsBook.post``), the audit
chain head (last).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from attrs import frozen

from core.payments.destinations import PayoutDestination, PinnedPayoutDestination
from core.payments.domain import (  # noqa: F401  (named in the docstrings)
    BreakerState,
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    OurPayout,
    Payment,
    PaymentId,
    PaymentNotFound,
    PaymentStatus,
    PayoutRequest,
    PayoutResult,
    ProviderEvent,
    ProviderPayment,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SettlementLine,
    WebhookRejected,
)
from core.shared.errors import ConcurrentUpdate  # noqa: F401
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable  # noqa: F401
from core.shared.ids import AccountId, EntryId
from core.shared.money import Currency, Money
from core.shared.timers import Timers
from core.shared.unit_of_work import UnitOfWork


class PaymentGateway(Protocol):
    """One payment provider, behind its official SDK or HTTP API.

    Idempotency: every call carries a key derived from our stored ids; a repeated call
    with the same key never charges, refunds or pays twice and answers what the first
    call did. Errors: raises GatewayDeclined (the provider answered no: final for the key),
    GatewayUnavailable (the request certainly took no effect: connection refused, DNS,
    rate limited (429), our credentials refused; retrying with the same key, or another
    provider, is safe) or GatewayOutcomeUnknown (the request may have reached the provider
    and the answer was lost: a timeout after sending, any 5xx -- 503 included -- to a
    request that moves money; never retry elsewhere). Never raises SDK or HTTP-client
    exceptions; never logs secrets or card data. Never called inside a unit of work.
    Thread-safe.
    """

    @property
    def name(self) -> str:
        """A short, stable name ("stripe"); it labels the provider's clearing accounts."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a payment, capturing automatically where the method allows.
        The provider must store ``request.payment_id`` (metadata / merchant reference) so
        that ``lookup`` and webhooks can name it. A result with status REQUIRES_ACTION
        carries the ``client_action`` the customer must complete."""
        ...

    def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture an authorised payment in full (a PayPal order the payer approved; an
        intent or payment authorised without automatic capture). Answers the provider's
        status: CAPTURED (with what it took), PROCESSING (accepted; a webhook finishes it)
        or FAILED. Raises GatewayDeclined when the provider refuses, including "already
        captured" (the caller looks the payment up before believing a refusal)."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a captured payment. Raises GatewayDeclined when the provider
        refuses (already refunded, too old…)."""
        ...

    def payout(self, request: PayoutRequest) -> PayoutResult:
        """Send money from the platform's balance at the provider to a payee."""
        ...

    def lookup(self, payment_id: PaymentId, provider_reference: str | None) -> ProviderPayment | None:
        """Re-query the provider for a payment by its reference, or, when we never learnt
        it, by our payment id (metadata search / merchant reference). None: the provider
        has no such payment (so it was never charged). Raises GatewayUnavailable /
        GatewayOutcomeUnknown when it cannot tell now. Where the provider names captures
        apart from the payment (PayPal), the answer carries ``capture_reference``."""
        ...

    def refund_status(self, provider_refund_reference: str) -> RefundStatus | None:
        """Re-query the provider for one refund by its reference (the one its refund
        answer gave): PENDING, SUCCEEDED or FAILED. None: this provider cannot be asked
        about a refund (Adyen has no refund lookup: its REFUND webhook is the only
        answer). A read: never changes anything at the provider. Raises
        GatewayUnavailable when it cannot tell now, including a reference the provider
        does not know (it gave it, so it will again)."""
        ...

    def settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        """Balance transactions / settlement lines booked in ``[start, end)`` (all pages),
        ordered by ``booked_at``. Raises GatewayUnavailable."""
        ...

    @property
    def reports_payouts(self) -> bool:
        """True when ``settlement_report`` lists the payouts ``payout`` made, as PAYOUT lines
        under the reference ``payout`` answered or naming our payout id (``payout_id``);
        reconciliation matches payouts only then. False: they are in another report (Adyen's
        balance-platform transfers are not in the merchant account's settlement details)."""
        ...


class WebhookVerifier(Protocol):
    """Verifies one provider's webhook deliveries and normalises their events.

    ``verify`` is pure apart from reading its configured secrets (several at once during a
    rotation): it checks the signature of every item (Adyen batches: each item), the
    timestamp window against ``now`` (Stripe: 300 s; PayPal: the transmission time), and
    parses the body. Raises WebhookRejected(reason) for anything it cannot trust or parse;
    never anything else (a fuzzed body must not cause a 500). Deduplication is not its
    job: the inbox does it. Thread-safe.
    """

    @property
    def provider(self) -> str: ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[ProviderEvent]: ...


class PaymentsBook(Protocol):
    """Payments' view of the double-entry ledger, bound to the current unit of work (the
    entry commits or rolls back with the payment state change that caused it). The
    ledger's ``LedgerBook`` implements it; kinds are the ledger's names (``wallet``,
    ``gateway_clearing`` with label = provider; entry kinds ``payment_capture``,
    ``payment_refund``, ``payment_refund_reversal``, ``payment_capture_correction``).

    Concurrency: ``post`` locks wallets (running balances) in ascending id order; the hot
    clearing accounts are never locked.
    """

    def account(self, *, owner_id: str, kind: str, currency: Currency, label: str = "", at: datetime) -> AccountId:
        """Get or open the (owner, kind, currency, label) account. Raises InvalidInput."""
        ...

    def post(
        self,
        *,
        kind: str,
        memo: str,
        initiated_by: str,
        legs: Sequence[tuple[AccountId, Money]],
        at: datetime,
    ) -> EntryId:
        """Post one balanced entry. Raises InsufficientFunds (a wallet would go below
        zero), EntryNotBalanced, CurrencyMismatch, AccountNotFound."""
        ...

    def balance(self, account_id: AccountId) -> Money: ...


class Payments(Protocol):
    """Payment aggregates (with their refunds) inside one unit of work."""

    def add(self, payment: Payment) -> None:
        """Raises ValueError if the id exists (ids are generated, so this is a bug)."""
        ...

    def get(self, payment_id: PaymentId) -> Payment:
        """Read without a lock. Raises PaymentNotFound."""
        ...

    def lock(self, payment_id: PaymentId) -> Payment:
        """Read and lock the payment until the transaction ends. Raises PaymentNotFound."""
        ...

    def save(self, payment: Payment) -> None:
        """Persist a changed payment and all its refunds, guarded by ``version`` (which it
        bumps). Raises ConcurrentUpdate if the stored version moved."""
        ...

    def by_provider_reference(self, provider: str, reference: str) -> Payment | None:
        """The payment a provider knows by ``reference`` (unique per provider); no lock."""
        ...

    def by_capture_reference(self, provider: str, reference: str) -> Payment | None:
        """The payment whose capture the provider knows by ``reference`` (its
        ``capture_reference``, unique per provider); no lock."""
        ...

    def captured_between(self, provider: str, start: datetime, end: datetime) -> list[Payment]:
        """Payments through ``provider`` captured in ``[start, end)``, or with a refund
        requested in it, ordered by id (for reconciliation)."""
        ...

    def in_status(self, statuses: Collection[PaymentStatus], *, limit: int) -> list[Payment]:
        """Payments in these statuses, oldest first, at most ``limit``."""
        ...


@frozen(kw_only=True)
class StoredProviderEvent:
    event: ProviderEvent
    received_at: datetime
    applied_at: datetime | None = None
    outcome: str | None = None  # "applied", "ignored", "unmatched"…


class ProviderEventInbox(Protocol):
    """Verified provider events, deduplicated by (provider, provider_event_id), stored in
    the unit of work that acknowledges the webhook."""

    def add(self, event: ProviderEvent, *, received_at: datetime) -> bool:
        """Store the event; True if it is new, False if (provider, provider_event_id) was
        stored before (the stored one is kept unchanged). Under concurrency the second of
        two transactions adding the same event waits and then answers False."""
        ...

    def get(self, provider: str, provider_event_id: str) -> StoredProviderEvent | None: ...

    def mark_applied(self, provider: str, provider_event_id: str, *, at: datetime, outcome: str) -> None:
        """Record that the consumer applied the event (or decided to ignore it)."""
        ...

    def unapplied_for(self, provider: str, provider_reference: str) -> list[StoredProviderEvent]:
        """Stored events of this payment reference that were not applied (they arrived
        before we knew the reference), oldest first."""
        ...

    def unapplied_for_capture(self, provider: str, capture_reference: str) -> list[StoredProviderEvent]:
        """Stored events naming this capture id (``ProviderEvent.capture_reference``) that
        were not applied (a PayPal refund naming only the capture, before the payment knew
        its capture id), oldest first."""
        ...


class RoutingState(Protocol):
    """Circuit-breaker state per provider, shared by every process (memory for one
    process, Redis or the database for many). Not transactional: it is advice for
    routing, never money."""

    def get(self, provider: str) -> BreakerState:
        """The provider's state; a closed circuit if none was recorded."""
        ...

    def update(self, provider: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        """Atomically replace the state with ``change(state)``; returns the new state."""
        ...


class PayoutsMade(Protocol):
    """Escrow's payouts as reconciliation needs them: what the platform paid out through a
    provider. A read inside the unit of work (no lock); escrow's data, never written here."""

    def paid_through(self, provider: str, start: datetime, end: datetime) -> list[OurPayout]:
        """The payouts executed through ``provider`` (escrow's gateway name) that the
        provider answered with a reference (status paid), recorded as paid in ``[start,
        end)``, ordered by payout id. ``paid_at`` is when escrow recorded the provider's
        answer (its ``settled_at``): the moment nearest the provider's booking, unlike the
        request, which may be days of approvals earlier. A payout whose outcome is still
        unknown (executing) has no reference yet and is not listed. Never raises for a
        provider without payouts: an empty list."""
        ...


class PaymentsUnitOfWork(UnitOfWork, Protocol):
    @property
    def payments(self) -> Payments: ...

    @property
    def payouts_made(self) -> PayoutsMade: ...

    @property
    def provider_events(self) -> ProviderEventInbox: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def book(self) -> PaymentsBook: ...


# ---- payout destinations (``core.payments.destinations``) ----------------------------


class PayoutDestinations(Protocol):
    """Payees' payout destinations, one per (payee, provider), inside one unit of work.
    Values are stored as given (the use case validated them)."""

    def put(self, destination: PayoutDestination) -> PayoutDestination | None:
        """Store the destination, replacing the payee's one at that provider; returns the
        one it replaced (None: there was none). Under concurrency the second of two
        writers for the same (payee, provider) waits for the first and then replaces it
        (when both were first registrations, both may answer None)."""
        ...

    def get(self, payee_id: str, provider: str) -> PayoutDestination | None:
        """The payee's destination at the provider; None when they registered none."""
        ...

    def of_payee(self, payee_id: str) -> list[PayoutDestination]:
        """All the payee's destinations, ordered by provider."""
        ...

    def pin(self, payout_id: str, payee_id: str, provider: str, *, at: datetime) -> PinnedPayoutDestination | None:
        """The destination pinned for the payout: the one pinned before if any (whatever
        the payee's registration says now, and whatever ``payee_id``/``provider`` are
        given), else the payee's current destination at the provider, pinned now (at
        ``at``). None: nothing pinned and the payee has no destination there (nothing is
        pinned then). Atomic: of two transactions pinning the same payout at once, the
        second waits for the first and answers its pin; a pin is never replaced."""
        ...

    def pinned(self, payout_id: str) -> PinnedPayoutDestination | None:
        """The destination pinned for the payout, if any; no lock."""
        ...


class PayoutDestinationsUnitOfWork(UnitOfWork, Protocol):
    @property
    def payout_destinations(self) -> PayoutDestinations: ...
