from __future__ import annotations

from core.identity.domain import UserCreated
from core.ledger.domain import FundsDeposited, WalletOpened
from core.shared.events import DomainEvent
from core.shared.ids import AccountId, EntryId, EventId, UserId, new_id
from core.shared.money import Money

from ..builders import T0
from ..harness import MakeUow, Probe


def some_events() -> list[DomainEvent]:
    wallet = AccountId(new_id("wal"))
    return [
        WalletOpened(
            event_id=EventId(new_id("evt")),
            occurred_at=T0,
            aggregate_id=wallet,
            wallet_id=wallet,
            owner_id=UserId("usr_1"),
            currency="EUR",
        ),
        FundsDeposited(
            event_id=EventId(new_id("evt")),
            occurred_at=T0,
            aggregate_id=wallet,
            entry_id=EntryId(new_id("ent")),
            wallet_id=wallet,
            amount=Money.of(500, "EUR"),
            source="sandbox",
        ),
        UserCreated(
            event_id=EventId(new_id("evt")),
            occurred_at=T0,
            aggregate_id="usr_1",
            user_id=UserId("usr_1"),
            personas=("client", "provider"),
        ),
    ]


def _listed(events: list[DomainEvent]) -> list[tuple[str, str, str]]:
    return [(type(e).name, e.event_id, e.aggregate_id) for e in events]


class OutboxContract:
    """Behaviour every ``Outbox`` adapter has. Subclasses supply ``make_uow`` and
    ``probe`` (the relay that reads it comes with the worker)."""

    def test_committed_events_are_stored_in_order_under_their_names(self, make_uow: MakeUow, probe: Probe) -> None:
        first, second = some_events(), some_events()
        with make_uow() as uow:
            uow.outbox.add(first)
            uow.outbox.add(iter(second[:1]))
            uow.commit()
        assert probe.outbox() == _listed(first + second[:1])
        assert [name for name, _, _ in probe.outbox()] == [
            "ledger.wallet_opened",
            "ledger.funds_deposited",
            "identity.user_created",
            "ledger.wallet_opened",
        ]

    def test_events_of_a_rolled_back_transaction_vanish(self, make_uow: MakeUow, probe: Probe) -> None:
        kept = some_events()
        with make_uow() as uow:
            uow.outbox.add(kept)
            uow.commit()
        with make_uow() as uow:
            uow.outbox.add(some_events())
        assert probe.outbox() == _listed(kept)

    def test_adding_no_event_stores_nothing(self, make_uow: MakeUow, probe: Probe) -> None:
        with make_uow() as uow:
            uow.outbox.add([])
            uow.commit()
        assert probe.outbox() == []
