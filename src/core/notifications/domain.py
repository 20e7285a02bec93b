"""In-app notifications: one short, plain message per user an event concerns.

A notification is made from a committed domain event (``NotifyParties``) and is unique
per (event id, recipient), so handling an event twice can never notify anyone twice.
This context reads events by name from their envelopes; it imports no other context.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, NewType

from attrs import evolve, frozen

from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.events import EventEnvelope, MalformedEvent
from core.shared.ids import UserId
from core.shared.money import Money

NotificationId = NewType("NotificationId", str)

TEXT_MAX = 500  # characters: a notification is a line, not a document


class Actions:
    """Notifications' actions, as the identity policy names them."""

    READ = "notifications.read"  # one's own
    READ_ANY = "notifications.read_any"  # support and admin, to help a member
    MARK_READ = "notifications.mark_read"  # one's own only

    ALL: ClassVar[frozenset[str]] = frozenset({READ, READ_ANY, MARK_READ})


class Events:
    """The event names this context reacts to (the producers' ``name`` values)."""

    CONTRACT_CREATED = "escrow.contract_created"
    CONTRACT_DECIDED = "escrow.contract_decided"
    MILESTONE_FUNDED = "escrow.milestone_funded"
    MILESTONE_FUNDING_REFUSED = "escrow.milestone_funding_refused"
    MILESTONE_SUBMITTED = "escrow.milestone_submitted"
    MILESTONE_CHANGES_REQUESTED = "escrow.milestone_changes_requested"
    MILESTONE_RELEASED = "escrow.milestone_released"
    MILESTONE_AUTO_RELEASED = "escrow.milestone_auto_released"
    MILESTONE_REFUND_PROPOSED = "escrow.milestone_refund_proposed"
    MILESTONE_REFUNDED = "escrow.milestone_refunded"
    MILESTONE_DISPUTE_HOLD_OPENED = "escrow.milestone_dispute_hold_opened"
    MILESTONE_SETTLED = "escrow.milestone_settled"
    MILESTONE_TIMED_OUT = "escrow.milestone_timed_out"
    EARNINGS_CLEARED = "escrow.earnings_cleared"
    PAYOUT_PAID = "escrow.payout_paid"
    PAYOUT_FAILED = "escrow.payout_failed"
    FUNDS_TRANSFERRED = "ledger.funds_transferred"

    ALL: ClassVar[frozenset[str]] = frozenset(
        {
            CONTRACT_CREATED,
            CONTRACT_DECIDED,
            MILESTONE_FUNDED,
            MILESTONE_FUNDING_REFUSED,
            MILESTONE_SUBMITTED,
            MILESTONE_CHANGES_REQUESTED,
            MILESTONE_RELEASED,
            MILESTONE_AUTO_RELEASED,
            MILESTONE_REFUND_PROPOSED,
            MILESTONE_REFUNDED,
            MILESTONE_DISPUTE_HOLD_OPENED,
            MILESTONE_SETTLED,
            MILESTONE_TIMED_OUT,
            EARNINGS_CLEARED,
            PAYOUT_PAID,
            PAYOUT_FAILED,
            FUNDS_TRANSFERRED,
        }
    )


@frozen(kw_only=True)
class Subjects:
    """What a notification is about, for the app to link to."""

    contract_id: str | None = None
    milestone_id: str | None = None
    payout_id: str | None = None


@frozen(kw_only=True)
class Notification:
    id: NotificationId
    recipient_id: UserId
    kind: str  # the event's name
    text: str
    subjects: Subjects
    event_id: str
    created_at: datetime
    read_at: datetime | None = None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def read(self, at: datetime) -> Notification:
        """Marked read at ``at``; one already read keeps its first time."""
        return self if self.read_at is not None else evolve(self, read_at=at)


@frozen(kw_only=True)
class Listed:
    """A stored notification with its position: ``seq`` grows with every notification
    stored, so pages newest first stay stable while new ones arrive."""

    seq: int
    notification: Notification


# --- reading amounts and dates out of an envelope -------------------------------------


def money(envelope: EventEnvelope, key: str) -> Money:
    """The payload's ``{"minor": int, "currency": "EUR"}`` at ``key``, exactly. Raises
    MalformedEvent when it is missing or not money."""
    value = envelope.payload.get(key)
    if not isinstance(value, dict):
        raise MalformedEvent(envelope.event_id, f"{key} is not an amount")
    minor, currency = value.get("minor"), value.get("currency")
    if isinstance(minor, bool) or not isinstance(minor, int) or not isinstance(currency, str):
        raise MalformedEvent(envelope.event_id, f"{key} is not an amount")
    try:
        return Money.of(minor, currency)
    except InvalidInput as error:
        raise MalformedEvent(envelope.event_id, f"{key}: {error.reason}") from None


def optional_money(envelope: EventEnvelope, key: str) -> Money | None:
    return None if envelope.payload.get(key) is None else money(envelope, key)


def day(envelope: EventEnvelope, key: str) -> date:
    """The calendar day (UTC, as stored) of the ISO 8601 timestamp at ``key``."""
    text = envelope.text(key)
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise MalformedEvent(envelope.event_id, f"{key} is not an ISO 8601 timestamp") from None


def flag(envelope: EventEnvelope, key: str) -> bool:
    value = envelope.payload.get(key)
    if not isinstance(value, bool):
        raise MalformedEvent(envelope.event_id, f"{key} is not a boolean")
    return value


# --- errors ---------------------------------------------------------------------------


@frozen
class NotificationNotFound(DomainError):
    """No such notification, or one addressed to someone else: the two look the same."""

    code: ClassVar[str] = "notification_not_found"
    title: ClassVar[str] = "No such notification"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    notification_id: str

    @property
    def detail(self) -> str:
        return f"no notification {self.notification_id!r}"
