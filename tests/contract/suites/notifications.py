"""Behaviour every adapter of notifications' ports has: ``Notifications``,
``ContractParties`` and ``WalletOwners``. Subclasses supply ``make_uow``."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from core.ledger.domain import PLATFORM_OWNER, Account, AccountKind
from core.messaging.use_cases.handle_event import Handled, HandleEvent
from core.notifications.domain import Notification, NotificationId, NotificationNotFound, Subjects
from core.notifications.use_cases.notify_parties import CONSUMER_NAME, NotifyParties
from core.shared.events import EventEnvelope
from core.shared.ids import AccountId, EventId, UserId, new_id
from core.shared.time import ManualClock

from ..builders import EUR, T0, a_contract, a_wallet
from ..harness import MakeUow


def a_notification(
    recipient: str, *, event_id: str | None = None, text: str = "You received 12.50 EUR in your wallet."
) -> Notification:
    return Notification(
        id=NotificationId(new_id("ntf")),
        recipient_id=UserId(recipient),
        kind="escrow.milestone_funded",
        text=text,
        subjects=Subjects(contract_id=new_id("ctr"), milestone_id=new_id("mil"), payout_id=None),
        event_id=event_id or new_id("evt"),
        created_at=T0,
    )


def store(make_uow: MakeUow, *notifications: Notification) -> None:
    with make_uow() as uow:
        for notification in notifications:
            assert uow.notifications.add(notification) is True
        uow.commit()


def texts(make_uow: MakeUow, recipient: str, **page: object) -> list[str]:
    options: dict[str, object] = {"before_seq": None, "limit": 100, "unread_only": False, **page}
    with make_uow() as uow:
        return [listed.notification.text for listed in uow.notifications.page(recipient, **options)]


class NotificationsContract:
    def test_an_added_notification_reads_back_equal(self, make_uow: MakeUow) -> None:
        notification = a_notification(new_id("usr"), text="Ünïcode and 1234.56 EUR")
        store(make_uow, notification)
        with make_uow() as uow:
            assert uow.notifications.get(notification.id) == notification
            (listed,) = uow.notifications.page(notification.recipient_id, before_seq=None, limit=10, unread_only=False)
        assert listed.notification == notification
        assert listed.notification.created_at.isoformat() == T0.isoformat()

    def test_an_unknown_id_is_not_found(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(NotificationNotFound):
            uow.notifications.get(NotificationId("ntf_missing"))

    def test_the_same_event_for_the_same_recipient_is_stored_once(self, make_uow: MakeUow) -> None:
        first = a_notification("usr_bob")
        again = attrs.evolve(first, id=NotificationId(new_id("ntf")), text="another text")
        store(make_uow, first)
        with make_uow() as uow:
            assert uow.notifications.add(again) is False
            uow.commit()
        with make_uow() as uow:
            assert uow.notifications.get(first.id) == first
            with pytest.raises(NotificationNotFound):
                uow.notifications.get(again.id)

    def test_one_event_may_notify_several_recipients(self, make_uow: MakeUow) -> None:
        event_id = new_id("evt")
        client, provider = new_id("usr"), new_id("usr")
        store(make_uow, a_notification(client, event_id=event_id), a_notification(provider, event_id=event_id))
        assert len(texts(make_uow, client)) == len(texts(make_uow, provider)) == 1

    def test_leaving_without_commit_discards_the_notification(self, make_uow: MakeUow) -> None:
        notification = a_notification(new_id("usr"))
        with make_uow() as uow:
            uow.notifications.add(notification)
        with make_uow() as uow, pytest.raises(NotificationNotFound):
            uow.notifications.get(notification.id)

    def test_pages_are_newest_first_per_recipient_and_follow_before_seq(self, make_uow: MakeUow) -> None:
        bob = new_id("usr")
        store(make_uow, *(a_notification(bob, text=f"n{i}") for i in range(5)), a_notification(new_id("usr")))
        assert texts(make_uow, bob) == ["n4", "n3", "n2", "n1", "n0"]
        with make_uow() as uow:
            first = uow.notifications.page(bob, before_seq=None, limit=2, unread_only=False)
            rest = uow.notifications.page(bob, before_seq=first[-1].seq, limit=10, unread_only=False)
        assert [x.notification.text for x in first + rest] == ["n4", "n3", "n2", "n1", "n0"]
        assert [x.seq for x in first + rest] == sorted((x.seq for x in first + rest), reverse=True)
        assert texts(make_uow, bob, limit=0) == []

    def test_marking_read_by_id_touches_only_the_recipients_unread_ones(self, make_uow: MakeUow) -> None:
        bob, alice = new_id("usr"), new_id("usr")
        bobs = [a_notification(bob, text=f"b{i}") for i in range(3)]
        alices = a_notification(alice)
        store(make_uow, *bobs, alices)
        at = T0 + timedelta(hours=1)
        with make_uow() as uow:
            marked = uow.notifications.mark_read(bob, ids=[bobs[0].id, bobs[1].id, alices.id], at=at)
            uow.commit()
        assert marked == 2
        with make_uow() as uow:
            assert uow.notifications.get(bobs[0].id).read_at == at
            assert uow.notifications.get(bobs[2].id).read_at is None
            assert uow.notifications.get(alices.id).read_at is None  # not bob's: untouched
            assert uow.notifications.unread_count(bob) == 1
            assert uow.notifications.unread_count(alice) == 1
            # Again, later: the first read time stays and nothing counts as changed.
            assert uow.notifications.mark_read(bob, ids=[bobs[0].id], at=at + timedelta(hours=1)) == 0
            uow.commit()
        with make_uow() as uow:
            assert uow.notifications.get(bobs[0].id).read_at == at
        assert texts(make_uow, bob, unread_only=True) == ["b2"]

    def test_marking_all_read_covers_only_the_recipient(self, make_uow: MakeUow) -> None:
        bob, alice = new_id("usr"), new_id("usr")
        store(make_uow, a_notification(bob), a_notification(bob), a_notification(alice))
        with make_uow() as uow:
            assert uow.notifications.mark_read(bob, ids=None, at=T0) == 2
            assert uow.notifications.mark_read(bob, ids=[], at=T0) == 0
            uow.commit()
        with make_uow() as uow:
            assert (uow.notifications.unread_count(bob), uow.notifications.unread_count(alice)) == (0, 1)

    def test_a_mark_left_without_commit_is_undone(self, make_uow: MakeUow) -> None:
        bob = new_id("usr")
        store(make_uow, a_notification(bob))
        with make_uow() as uow:
            uow.notifications.mark_read(bob, ids=None, at=T0)
        with make_uow() as uow:
            assert uow.notifications.unread_count(bob) == 1


class ContractPartiesContract:
    def test_a_contracts_client_and_provider_are_read(self, make_uow: MakeUow) -> None:
        contract = a_contract(10_000)
        with make_uow() as uow:
            uow.contracts.add(contract)
            uow.commit()
        with make_uow() as uow:
            assert uow.contract_parties.parties(contract.id) == (contract.client_id, contract.provider_id)

    def test_an_unknown_contract_has_no_parties(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.contract_parties.parties("ctr_missing") is None


class WalletOwnersContract:
    def test_a_member_wallets_owner_is_read(self, make_uow: MakeUow) -> None:
        wallet = a_wallet(new_id("usr"))
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            assert uow.wallet_owners.owner(wallet.id) == wallet.owner_id

    def test_an_unknown_id_or_a_platform_account_has_no_owner(self, make_uow: MakeUow) -> None:
        escrow = Account.open(
            id=AccountId(new_id("acc")),
            owner_id=PLATFORM_OWNER,
            kind=AccountKind.ESCROW,
            currency=EUR,
            label=new_id("mil"),
            at=T0,
        )
        with make_uow() as uow:
            uow.accounts.add(escrow)
            uow.commit()
        with make_uow() as uow:
            assert uow.wallet_owners.owner("wal_missing") is None
            assert uow.wallet_owners.owner(escrow.id) is None


class NotifyPartiesContract:
    """The consumer through ``HandleEvent`` on this adapter: its inbox and the
    notification commit together, so a second delivery adds nothing."""

    def test_an_event_handled_twice_notifies_each_party_once(self, make_uow: MakeUow) -> None:
        contract = a_contract(10_000)
        with make_uow() as uow:
            uow.contracts.add(contract)
            uow.commit()
        event_id = EventId(new_id("evt"))
        envelope = EventEnvelope(
            seq=1,
            event_id=event_id,
            name="escrow.milestone_dispute_hold_opened",
            aggregate_id=contract.id,
            occurred_at=T0,
            payload={
                "contract_id": contract.id,
                "milestone_id": contract.milestones[0].id,
                "opened_by": contract.client_id,
                "held": {"minor": 10_000, "currency": "EUR"},
                "reason": "late",
            },
        )
        clock = ManualClock(T0)
        handle = HandleEvent(make_uow, [NotifyParties(clock)], clock)

        assert handle(CONSUMER_NAME, envelope) is Handled.HANDLED
        assert handle(CONSUMER_NAME, envelope) is Handled.DUPLICATE

        text = "A dispute hold was opened on a milestone: 100.00 EUR stays held until support resolves it."
        assert texts(make_uow, contract.client_id) == texts(make_uow, contract.provider_id) == [text]
