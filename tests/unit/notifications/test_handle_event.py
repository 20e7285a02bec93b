"""Real escrow and ledger commands, their committed events handed to the notifications
consumer through ``HandleEvent`` twice: each user is told once, in order, newest first."""

from __future__ import annotations

from core.messaging.use_cases.handle_event import Handled
from core.shared.actor import Persona
from core.shared.money import Money
from tests.unit.notifications.world import NotificationsWorld


def test_a_hire_fund_submit_approve_journey_notifies_each_party_once(world: NotificationsWorld) -> None:
    client = world.funded_client("client", 100_000)
    provider = world.user("provider", Persona.PROVIDER)
    contract = world.contract(client, provider, 30_000)
    milestone = contract.milestones[0].milestone_id
    world.fund(client, contract.contract_id, milestone)
    world.submit(provider, contract.contract_id, milestone)
    world.approve(client, contract.contract_id, milestone)

    world.handle_all()
    again = world.handle_all()

    # (If the runtime already dispatches in process, the first pass finds them handled too.)
    assert all(outcome is Handled.DUPLICATE for outcome in again)
    provider_texts = world.texts(provider)
    assert provider_texts[0].startswith("The client released 300.00 EUR: 270.00 EUR is yours after the 30.00 EUR fee")
    assert provider_texts[1:] == [
        "A milestone was funded: 300.00 EUR is held in escrow for your work.",
        "You have a new contract offer worth 300.00 EUR.",
    ]
    client_texts = world.texts(client)
    assert len(client_texts) == 2
    assert client_texts[0].startswith("Work on a milestone was submitted for your review.")
    assert client_texts[1] == "Your contract offer was accepted."


def test_a_transfer_notifies_the_receiver_once_and_not_the_sender(world: NotificationsWorld) -> None:
    alice = world.funded_client("alice", 5_000)
    bob = world.user("bob", Persona.CLIENT)
    bob_wallet = world.wallet(bob)
    world.transfer(alice, world.wallet_of(alice), bob_wallet.wallet_id, Money.of(1_250, "EUR"))

    world.handle_all()
    world.handle_all()

    assert world.texts(bob) == ["You received 12.50 EUR in your wallet."]
    assert world.texts(alice) == []
