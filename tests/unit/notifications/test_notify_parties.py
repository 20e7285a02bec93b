"""Who hears of which event, and in exactly which words: ``NotifyParties`` against the
in-memory adapter, with envelopes shaped as the outbox stores escrow's and the ledger's
events (money as minor units and a currency, times as ISO 8601)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWork
from core.notifications.domain import Events, Notification
from core.notifications.use_cases.notify_parties import NotifyParties
from core.shared.events import EventEnvelope, MalformedEvent
from core.shared.ids import EventId, new_id
from core.shared.time import ManualClock
from tests.contract.builders import a_contract, a_wallet

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


def money(minor: int, currency: str = "EUR") -> dict[str, Any]:
    return {"minor": minor, "currency": currency}


def envelope(name: str, **payload: Any) -> EventEnvelope:
    event_id = EventId(new_id("evt"))
    return EventEnvelope(
        seq=next(_seq),
        event_id=event_id,
        name=name,
        aggregate_id=str(payload.get("contract_id") or payload.get("payout_id") or "agg"),
        occurred_at=NOW,
        payload={"event_id": event_id, "occurred_at": NOW.isoformat(), **payload},
    )


class Scene:
    """A store holding one contract (client and provider) and two wallets of other users."""

    def __init__(self) -> None:
        self.store = MemoryStore(audit_chains=1)
        self.consumer = NotifyParties(ManualClock(NOW))
        self.contract = a_contract(10_000)
        self.client, self.provider = self.contract.client_id, self.contract.provider_id
        self.milestone_id = self.contract.milestones[0].id
        self.alice_wallet, self.bob_wallet = a_wallet("usr_alice"), a_wallet("usr_bob")
        with self.uow() as uow:
            uow.contracts.add(self.contract)
            uow.accounts.add(self.alice_wallet)
            uow.accounts.add(self.bob_wallet)
            uow.commit()

    def uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)

    def milestone_event(self, name: str, **payload: Any) -> EventEnvelope:
        return envelope(name, contract_id=self.contract.id, milestone_id=self.milestone_id, **payload)

    def handle(self, event: EventEnvelope) -> dict[str, str]:
        """recipient -> text of the notifications the event made."""
        with self.uow() as uow:
            self.consumer.handle(event, uow)
            uow.commit()
        return {n.recipient_id: n.text for n in self.made_for(event)}

    def made_for(self, event: EventEnvelope) -> list[Notification]:
        return [
            listed.notification
            for listed in self.store.notifications.by_id.values()
            if listed.notification.event_id == event.event_id
        ]


@pytest.fixture
def scene() -> Scene:
    return Scene()


def test_the_consumer_is_named_and_subscribes_to_every_event_it_words() -> None:
    consumer = NotifyParties(ManualClock(NOW))
    assert consumer.name == "notifications"
    assert consumer.events == Events.ALL
    assert "escrow.milestone_funded" in consumer.events and "ledger.funds_transferred" in consumer.events


def test_a_new_offer_tells_the_provider_its_total(scene: Scene) -> None:
    event = envelope(
        Events.CONTRACT_CREATED,
        contract_id=scene.contract.id,
        client_id=scene.client,
        provider_id=scene.provider,
        currency="EUR",
        total=money(123_456),
        fee_tier="standard",
    )
    assert scene.handle(event) == {scene.provider: "You have a new contract offer worth 1234.56 EUR."}
    (made,) = scene.made_for(event)
    assert (made.kind, made.event_id, made.created_at, made.read_at) == (
        Events.CONTRACT_CREATED,
        event.event_id,
        NOW,
        None,
    )
    assert (made.subjects.contract_id, made.subjects.milestone_id, made.subjects.payout_id) == (
        scene.contract.id,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("status", "who", "text"),
    [
        ("active", "client", "Your contract offer was accepted."),
        ("declined", "client", "Your contract offer was declined."),
        ("cancelled", "provider", "The client withdrew a contract offer it had sent you."),
    ],
)
def test_a_decision_on_an_offer_tells_the_other_party(scene: Scene, status: str, who: str, text: str) -> None:
    event = envelope(Events.CONTRACT_DECIDED, contract_id=scene.contract.id, status=status)
    assert scene.handle(event) == {getattr(scene, who): text}


def test_funding_tells_the_provider_what_is_held(scene: Scene) -> None:
    event = scene.milestone_event(Events.MILESTONE_FUNDED, amount=money(50_000), entry_id="ent_1")
    assert scene.handle(event) == {
        scene.provider: "A milestone was funded: 500.00 EUR is held in escrow for your work."
    }
    (made,) = scene.made_for(event)
    assert (made.subjects.contract_id, made.subjects.milestone_id) == (scene.contract.id, scene.milestone_id)


def test_a_submission_tells_the_client_when_it_auto_releases(scene: Scene) -> None:
    event = scene.milestone_event(Events.MILESTONE_SUBMITTED, submission=1, auto_release_at="2026-12-11T09:00:00+00:00")
    assert scene.handle(event) == {
        scene.client: "Work on a milestone was submitted for your review. Approve it or request changes; "
        "otherwise it is released on 2026-12-11."
    }


def test_requested_changes_tell_the_provider(scene: Scene) -> None:
    event = scene.milestone_event(Events.MILESTONE_CHANGES_REQUESTED, changes_requested=1)
    assert scene.handle(event) == {scene.provider: "The client requested changes to your submitted work."}


def test_a_release_tells_the_provider_gross_fee_net_and_when_it_clears(scene: Scene) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_RELEASED,
        release_id="rel_1",
        entry_id="ent_1",
        gross=money(10_000),
        fee=money(1_000),
        net=money(9_000),
        held_after=money(0),
        clears_at="2026-12-02T09:00:00+00:00",
    )
    assert scene.handle(event) == {
        scene.provider: "The client released 100.00 EUR: 90.00 EUR is yours after the 10.00 EUR fee, "
        "available on 2026-12-02."
    }


def test_an_auto_release_tells_both_parties(scene: Scene) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_AUTO_RELEASED,
        release_id="rel_1",
        entry_id="ent_1",
        submission=1,
        gross=money(10_005),
        fee=money(1_001),
        net=money(9_004),
        clears_at="2026-12-02T09:00:00+00:00",
    )
    assert scene.handle(event) == {
        scene.provider: "100.05 EUR was released automatically: 90.04 EUR is yours after the 10.01 EUR fee, "
        "available on 2026-12-02.",
        scene.client: "100.05 EUR was released to the provider automatically: "
        "the review period ended without a decision.",
    }


def test_a_proposed_refund_tells_the_provider(scene: Scene) -> None:
    event = scene.milestone_event(Events.MILESTONE_REFUND_PROPOSED, amount=money(2_500))
    assert scene.handle(event) == {
        scene.provider: "The client proposed a refund of 25.00 EUR; agree to it or talk to them."
    }


@pytest.mark.parametrize(("by_support", "by"), [(False, ""), (True, " by support")])
def test_a_refund_tells_both_parties(scene: Scene, by_support: bool, by: str) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_REFUNDED,
        entry_id="ent_1",
        amount=money(7),
        held_after=money(9_993),
        by_support=by_support,
        reason="agreed",
    )
    assert scene.handle(event) == {
        scene.client: f"0.07 EUR was refunded to your wallet{by}.",
        scene.provider: f"0.07 EUR of a milestone was refunded to the client{by}.",
    }


def test_a_dispute_hold_tells_both_parties(scene: Scene) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_DISPUTE_HOLD_OPENED, opened_by=scene.client, held=money(10_000), reason="late"
    )
    text = "A dispute hold was opened on a milestone: 100.00 EUR stays held until support resolves it."
    assert scene.handle(event) == {scene.client: text, scene.provider: text}


def test_a_settlement_tells_each_party_its_share(scene: Scene) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_SETTLED,
        entry_id="ent_1",
        release_id="rel_1",
        gross=money(6_000),
        fee=money(600),
        net=money(5_400),
        refunded=money(4_000),
        reason="split",
    )
    assert scene.handle(event) == {
        scene.client: "Support settled the dispute: 40.00 EUR refunded to you, 60.00 EUR released to the provider.",
        scene.provider: "Support settled the dispute: 60.00 EUR released to you (54.00 EUR after the 6.00 EUR fee), "
        "40.00 EUR refunded to the client.",
    }


def _timed_out(scene: Scene, outcome: str, **amounts: Any) -> EventEnvelope:
    fields: dict[str, Any] = {"entry_id": None, "release_id": None, "gross": None, "fee": None, "net": None}
    fields["refunded"] = None
    return scene.milestone_event(Events.MILESTONE_TIMED_OUT, outcome=outcome, **{**fields, **amounts})


def test_an_expired_milestone_tells_both_parties(scene: Scene) -> None:
    text = "A milestone passed its deadline without being funded and has expired."
    assert scene.handle(_timed_out(scene, "expired")) == {scene.client: text, scene.provider: text}


def test_a_deadline_refund_tells_both_parties_the_amount(scene: Scene) -> None:
    assert scene.handle(_timed_out(scene, "refunded", refunded=money(10_000))) == {
        scene.client: "A milestone passed its deadline: 100.00 EUR was refunded to your wallet.",
        scene.provider: "A milestone passed its deadline: 100.00 EUR was refunded to the client.",
    }


def test_a_deadline_release_tells_both_parties_the_amounts(scene: Scene) -> None:
    event = _timed_out(scene, "released", gross=money(10_000), fee=money(1_000), net=money(9_000))
    assert scene.handle(event) == {
        scene.client: "A milestone passed its deadline: 100.00 EUR was released to the provider.",
        scene.provider: "A milestone passed its deadline: 100.00 EUR was released to you "
        "(90.00 EUR after the 10.00 EUR fee).",
    }


def test_cleared_earnings_tell_the_payee(scene: Scene) -> None:
    event = envelope(
        Events.EARNINGS_CLEARED, release_id="rel_1", payee_id=scene.provider, amount=money(9_000), entry_id="e"
    )
    assert scene.handle(event) == {scene.provider: "90.00 EUR of your earnings cleared and is now available."}


@pytest.mark.parametrize(
    ("amount", "rendered"),
    [(money(150_000), "1500.00 EUR"), (money(1_050, "JPY"), "1050 JPY"), (money(1_234, "BHD"), "1.234 BHD")],
)
def test_a_paid_payout_tells_the_payee_in_the_currencys_own_decimals(
    scene: Scene, amount: dict[str, Any], rendered: str
) -> None:
    event = envelope(
        Events.PAYOUT_PAID, payout_id="pay_1", payee_id="usr_payee", amount=amount, reference="sbx_42", entry_id="e"
    )
    assert scene.handle(event) == {"usr_payee": f"Your payout of {rendered} was paid (reference sbx_42)."}
    (made,) = scene.made_for(event)
    assert made.subjects.payout_id == "pay_1"


def test_a_failed_payout_tells_the_payee_why(scene: Scene) -> None:
    event = envelope(
        Events.PAYOUT_FAILED,
        payout_id="pay_1",
        payee_id="usr_payee",
        amount=money(150_000),
        reason="account closed",
        entry_id="e",
    )
    assert scene.handle(event) == {
        "usr_payee": "Your payout of 1500.00 EUR failed (account closed); the money is back in your wallet."
    }


def test_a_transfer_tells_the_owner_of_the_receiving_wallet(scene: Scene) -> None:
    event = envelope(
        Events.FUNDS_TRANSFERRED,
        entry_id="ent_1",
        from_wallet_id=scene.alice_wallet.id,
        to_wallet_id=scene.bob_wallet.id,
        amount=money(1_250),
    )
    assert scene.handle(event) == {"usr_bob": "You received 12.50 EUR in your wallet."}


def test_one_user_on_both_sides_hears_once(scene: Scene) -> None:
    contract = a_contract(10_000, client_id="usr_same", provider_id="usr_same")
    with scene.uow() as uow:
        uow.contracts.add(contract)
        uow.commit()
    event = envelope(
        Events.MILESTONE_DISPUTE_HOLD_OPENED,
        contract_id=contract.id,
        milestone_id=contract.milestones[0].id,
        opened_by="usr_same",
        held=money(1),
        reason="x",
    )
    assert list(scene.handle(event)) == ["usr_same"]
    assert len(scene.made_for(event)) == 1


def test_handling_the_same_event_again_adds_nothing(scene: Scene) -> None:
    event = scene.milestone_event(Events.MILESTONE_DISPUTE_HOLD_OPENED, opened_by="x", held=money(1), reason="x")
    scene.handle(event)
    scene.handle(event)
    assert len(scene.made_for(event)) == 2  # client and provider, once each


@pytest.mark.parametrize(
    ("name", "payload", "problem"),
    [
        (Events.MILESTONE_FUNDED, {}, "amount is not an amount"),
        (Events.MILESTONE_FUNDED, {"amount": {"minor": 10.5, "currency": "EUR"}}, "amount is not an amount"),
        (Events.MILESTONE_FUNDED, {"amount": {"minor": True, "currency": "EUR"}}, "amount is not an amount"),
        (Events.MILESTONE_FUNDED, {"amount": {"minor": "1050", "currency": "EUR"}}, "amount is not an amount"),
        (Events.MILESTONE_FUNDED, {"amount": {"minor": 1, "currency": "XXX"}}, "amount: "),
        (Events.MILESTONE_SUBMITTED, {"auto_release_at": "next tuesday"}, "auto_release_at is not an ISO 8601"),
        (Events.MILESTONE_REFUNDED, {"amount": {"minor": 1, "currency": "EUR"}}, "by_support is not a boolean"),
        (Events.MILESTONE_TIMED_OUT, {"outcome": "vanished"}, "outcome 'vanished'"),
        (Events.MILESTONE_TIMED_OUT, {"outcome": "refunded", "refunded": None}, "refunded is not an amount"),
        (Events.CONTRACT_DECIDED, {"status": 3}, "status is not a string"),
        (Events.CONTRACT_DECIDED, {"status": "pondering"}, "status 'pondering'"),
    ],
)
def test_a_payload_it_cannot_read_is_malformed_and_writes_nothing(
    scene: Scene, name: str, payload: dict[str, Any], problem: str
) -> None:
    event = scene.milestone_event(name, **payload)
    with pytest.raises(MalformedEvent) as raised, scene.uow() as uow:
        scene.consumer.handle(event, uow)
    assert problem in raised.value.detail
    assert raised.value.event_id == event.event_id
    assert scene.made_for(event) == []


def test_a_new_offer_without_a_provider_is_malformed(scene: Scene) -> None:
    event = envelope(Events.CONTRACT_CREATED, contract_id=scene.contract.id, total=money(1))
    with pytest.raises(MalformedEvent, match="provider_id is not a string"), scene.uow() as uow:
        scene.consumer.handle(event, uow)


def test_a_milestone_event_of_an_unknown_contract_is_malformed(scene: Scene) -> None:
    event = envelope(Events.MILESTONE_FUNDED, contract_id="ctr_missing", milestone_id="mil_x", amount=money(1))
    with pytest.raises(MalformedEvent, match="contract ctr_missing does not exist"), scene.uow() as uow:
        scene.consumer.handle(event, uow)


def test_a_transfer_to_an_unknown_wallet_is_malformed(scene: Scene) -> None:
    event = envelope(
        Events.FUNDS_TRANSFERRED, from_wallet_id=scene.alice_wallet.id, to_wallet_id="wal_missing", amount=money(1)
    )
    with pytest.raises(MalformedEvent, match="wallet wal_missing does not exist"), scene.uow() as uow:
        scene.consumer.handle(event, uow)


# --- a captured payment escrow refused to use ---------------------------------------------


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("not_fundable", "the milestone was no longer waiting for funding"),
        ("amount_mismatch", "the amount was not the milestone's"),
        ("payer_not_client", "you are not the client of that contract"),
        ("insufficient_funds", "your wallet no longer held the amount"),
        ("contract_not_found", "the contract does not exist"),
        ("milestone_not_found", "the milestone does not exist"),
        ("a_reason_added_later", "a_reason_added_later"),
    ],
)
def test_a_refused_funding_tells_the_payer_why_and_that_the_money_is_in_their_wallet(
    scene: Scene, reason: str, why: str
) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_FUNDING_REFUSED, payment_id="pmt_1", payer_id=scene.client, amount=money(10_000), reason=reason
    )
    assert scene.handle(event) == {
        scene.client: f"Your payment of 100.00 EUR could not fund the milestone ({why}); "
        "the money was credited to your wallet instead."
    }
    (made,) = scene.made_for(event)
    assert (made.kind, made.subjects.contract_id, made.subjects.milestone_id) == (
        "escrow.milestone_funding_refused",
        scene.contract.id,
        scene.milestone_id,
    )


def test_a_refused_funding_reaches_a_payer_who_is_no_party_and_a_contract_that_does_not_exist(scene: Scene) -> None:
    event = envelope(
        Events.MILESTONE_FUNDING_REFUSED,
        contract_id="ctr_missing",
        milestone_id="mil_x",
        payment_id="pmt_1",
        payer_id="usr_stranger",
        amount=money(5),
        reason="contract_not_found",
    )
    assert list(scene.handle(event)) == ["usr_stranger"]


def test_a_refused_funding_without_a_payer_is_malformed(scene: Scene) -> None:
    event = scene.milestone_event(
        Events.MILESTONE_FUNDING_REFUSED, payment_id="pmt_1", amount=money(5), reason="not_fundable"
    )
    with pytest.raises(MalformedEvent, match="payer_id is not a string"), scene.uow() as uow:
        scene.consumer.handle(event, uow)
    assert scene.made_for(event) == []
