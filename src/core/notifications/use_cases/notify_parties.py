from __future__ import annotations

from collections.abc import Callable, Mapping

from attrs import frozen

from core.notifications.domain import (
    TEXT_MAX,
    Events,
    Notification,
    NotificationId,
    Subjects,
    day,
    flag,
    money,
    optional_money,
)
from core.notifications.ports import NotificationsUnitOfWork
from core.shared.events import EventEnvelope, MalformedEvent
from core.shared.ids import UserId, new_id
from core.shared.time import Clock

CONSUMER_NAME = "notifications"


@frozen
class _Message:
    recipient_id: str
    text: str


@frozen
class _Parties:
    client_id: str
    provider_id: str


class NotifyParties:
    """The event consumer that tells each user an event concerns what happened, in one
    short line: the provider of a new offer, of funding, of requested changes and of
    released money; the client of a decision on its offer and of submitted work; the payer
    of a captured payment that could not fund its milestone (the money is in their
    wallet); both
    parties of refunds, dispute holds, settlements and deadline time-outs; a payee of a
    paid or failed payout and of cleared earnings; the owner of a wallet that received a
    transfer. Amounts are exact, in the currency's own decimals.

    Runs inside ``HandleEvent``'s unit of work (which dedupes through the inbox); a
    notification is also unique per (event, recipient), so a replay adds nothing.
    Raises MalformedEvent (final: dead-lettered) for a payload it cannot read or a
    contract or wallet the event names that does not exist; DependencyUnavailable from
    storage (retried).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._compose: Mapping[str, Callable[[EventEnvelope, NotificationsUnitOfWork], list[_Message]]] = {
            Events.CONTRACT_CREATED: _contract_created,
            Events.CONTRACT_DECIDED: _contract_decided,
            Events.MILESTONE_FUNDED: _milestone_funded,
            Events.MILESTONE_FUNDING_REFUSED: _funding_refused,
            Events.MILESTONE_SUBMITTED: _milestone_submitted,
            Events.MILESTONE_CHANGES_REQUESTED: _changes_requested,
            Events.MILESTONE_RELEASED: _released,
            Events.MILESTONE_AUTO_RELEASED: _auto_released,
            Events.MILESTONE_REFUND_PROPOSED: _refund_proposed,
            Events.MILESTONE_REFUNDED: _refunded,
            Events.MILESTONE_DISPUTE_HOLD_OPENED: _dispute_hold_opened,
            Events.MILESTONE_SETTLED: _settled,
            Events.MILESTONE_TIMED_OUT: _timed_out,
            Events.EARNINGS_CLEARED: _earnings_cleared,
            Events.PAYOUT_PAID: _payout_paid,
            Events.PAYOUT_FAILED: _payout_failed,
            Events.FUNDS_TRANSFERRED: _funds_transferred,
        }

    @property
    def name(self) -> str:
        return CONSUMER_NAME

    @property
    def events(self) -> frozenset[str]:
        return Events.ALL

    def handle(self, envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> None:
        compose = self._compose.get(envelope.name)
        if compose is None:
            return  # not ours: HandleEvent only passes subscribed events anyway
        messages = compose(envelope, uow)
        subjects = Subjects(
            contract_id=envelope.optional_text("contract_id"),
            milestone_id=envelope.optional_text("milestone_id"),
            payout_id=envelope.optional_text("payout_id"),
        )
        now = self._clock.now()
        seen: set[str] = set()
        for message in messages:
            if message.recipient_id in seen:
                continue  # one user on both sides of an event hears of it once
            seen.add(message.recipient_id)
            uow.notifications.add(
                Notification(
                    id=NotificationId(new_id("ntf")),
                    recipient_id=UserId(message.recipient_id),
                    kind=envelope.name,
                    text=message.text[:TEXT_MAX],
                    subjects=subjects,
                    event_id=envelope.event_id,
                    created_at=now,
                )
            )


# --- who hears what, per event --------------------------------------------------------


def _parties(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> _Parties:
    contract_id = envelope.text("contract_id")
    found = uow.contract_parties.parties(contract_id)
    if found is None:
        raise MalformedEvent(envelope.event_id, f"contract {contract_id} does not exist")
    return _Parties(*found)


def _contract_created(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    total = money(envelope, "total")
    return [_Message(envelope.text("provider_id"), f"You have a new contract offer worth {total}.")]


def _contract_decided(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    status = envelope.text("status")
    parties = _parties(envelope, uow)
    if status == "active":  # accepted by the provider
        return [_Message(parties.client_id, "Your contract offer was accepted.")]
    if status == "declined":
        return [_Message(parties.client_id, "Your contract offer was declined.")]
    if status == "cancelled":
        return [_Message(parties.provider_id, "The client withdrew a contract offer it had sent you.")]
    raise MalformedEvent(envelope.event_id, f"status {status!r} is not active, declined or cancelled")


def _milestone_funded(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    parties = _parties(envelope, uow)
    return [_Message(parties.provider_id, f"A milestone was funded: {amount} is held in escrow for your work.")]


# Escrow's FundingRefusals reasons, in words; an unknown (newer) reason is shown as is.
_FUNDING_REFUSALS: Mapping[str, str] = {
    "contract_not_found": "the contract does not exist",
    "milestone_not_found": "the milestone does not exist",
    "payer_not_client": "you are not the client of that contract",
    "not_fundable": "the milestone was no longer waiting for funding",
    "amount_mismatch": "the amount was not the milestone's",
    "insufficient_funds": "your wallet no longer held the amount",
}


def _funding_refused(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    # The payer, named by the event: the contract may not exist, or they may not be its
    # client, and either way the capture credited their wallet.
    amount = money(envelope, "amount")
    reason = envelope.text("reason")
    why = _FUNDING_REFUSALS.get(reason, reason)
    kept = "the money was credited to your wallet instead"
    text = f"Your payment of {amount} could not fund the milestone ({why}); {kept}."
    return [_Message(envelope.text("payer_id"), text)]


def _milestone_submitted(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    releases_on = day(envelope, "auto_release_at")
    parties = _parties(envelope, uow)
    text = (
        "Work on a milestone was submitted for your review. Approve it or request changes; "
        f"otherwise it is released on {releases_on.isoformat()}."
    )
    return [_Message(parties.client_id, text)]


def _changes_requested(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    parties = _parties(envelope, uow)
    return [_Message(parties.provider_id, "The client requested changes to your submitted work.")]


def _released(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    gross, fee, net = money(envelope, "gross"), money(envelope, "fee"), money(envelope, "net")
    clears_on = day(envelope, "clears_at")
    parties = _parties(envelope, uow)
    text = f"The client released {gross}: {net} is yours after the {fee} fee, available on {clears_on.isoformat()}."
    return [_Message(parties.provider_id, text)]


def _auto_released(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    gross, fee, net = money(envelope, "gross"), money(envelope, "fee"), money(envelope, "net")
    clears_on = day(envelope, "clears_at")
    parties = _parties(envelope, uow)
    return [
        _Message(
            parties.provider_id,
            f"{gross} was released automatically: {net} is yours after the {fee} fee, "
            f"available on {clears_on.isoformat()}.",
        ),
        _Message(
            parties.client_id,
            f"{gross} was released to the provider automatically: the review period ended without a decision.",
        ),
    ]


def _refund_proposed(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    parties = _parties(envelope, uow)
    return [_Message(parties.provider_id, f"The client proposed a refund of {amount}; agree to it or talk to them.")]


def _refunded(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    by = " by support" if flag(envelope, "by_support") else ""
    parties = _parties(envelope, uow)
    return [
        _Message(parties.client_id, f"{amount} was refunded to your wallet{by}."),
        _Message(parties.provider_id, f"{amount} of a milestone was refunded to the client{by}."),
    ]


def _dispute_hold_opened(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    held = money(envelope, "held")
    parties = _parties(envelope, uow)
    text = f"A dispute hold was opened on a milestone: {held} stays held until support resolves it."
    return [_Message(parties.client_id, text), _Message(parties.provider_id, text)]


def _settled(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    gross, fee, net = money(envelope, "gross"), money(envelope, "fee"), money(envelope, "net")
    refunded = money(envelope, "refunded")
    parties = _parties(envelope, uow)
    return [
        _Message(
            parties.client_id,
            f"Support settled the dispute: {refunded} refunded to you, {gross} released to the provider.",
        ),
        _Message(
            parties.provider_id,
            f"Support settled the dispute: {gross} released to you ({net} after the {fee} fee), "
            f"{refunded} refunded to the client.",
        ),
    ]


def _timed_out(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    outcome = envelope.text("outcome")
    parties = _parties(envelope, uow)
    if outcome == "expired":
        text = "A milestone passed its deadline without being funded and has expired."
        return [_Message(parties.client_id, text), _Message(parties.provider_id, text)]
    if outcome == "refunded":
        refunded = optional_money(envelope, "refunded")
        if refunded is None:
            raise MalformedEvent(envelope.event_id, "refunded is not an amount")
        return [
            _Message(parties.client_id, f"A milestone passed its deadline: {refunded} was refunded to your wallet."),
            _Message(parties.provider_id, f"A milestone passed its deadline: {refunded} was refunded to the client."),
        ]
    if outcome == "released":
        gross, fee, net = (optional_money(envelope, key) for key in ("gross", "fee", "net"))
        if gross is None or fee is None or net is None:
            raise MalformedEvent(envelope.event_id, "gross, fee and net are not all amounts")
        return [
            _Message(parties.client_id, f"A milestone passed its deadline: {gross} was released to the provider."),
            _Message(
                parties.provider_id,
                f"A milestone passed its deadline: {gross} was released to you ({net} after the {fee} fee).",
            ),
        ]
    raise MalformedEvent(envelope.event_id, f"outcome {outcome!r} is not expired, refunded or released")


def _earnings_cleared(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    return [_Message(envelope.text("payee_id"), f"{amount} of your earnings cleared and is now available.")]


def _payout_paid(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    reference = envelope.text("reference")
    return [_Message(envelope.text("payee_id"), f"Your payout of {amount} was paid (reference {reference}).")]


def _payout_failed(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    reason = envelope.text("reason")
    text = f"Your payout of {amount} failed ({reason}); the money is back in your wallet."
    return [_Message(envelope.text("payee_id"), text)]


def _funds_transferred(envelope: EventEnvelope, uow: NotificationsUnitOfWork) -> list[_Message]:
    amount = money(envelope, "amount")
    to_wallet = envelope.text("to_wallet_id")
    recipient = uow.wallet_owners.owner(to_wallet)
    if recipient is None:
        raise MalformedEvent(envelope.event_id, f"wallet {to_wallet} does not exist")
    if recipient == uow.wallet_owners.owner(envelope.text("from_wallet_id")):
        return []  # between one's own wallets: nothing to tell
    return [_Message(recipient, f"You received {amount} in your wallet.")]
