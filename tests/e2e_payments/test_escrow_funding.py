"""A client pays a milestone by card over HTTP (Stripe's fake): the capture lands in the
client's wallet, and escrow's consumer funds the milestone from it, once, however often
the provider's webhook repeats the capture. On memory and on SQLite."""

from __future__ import annotations

from collections.abc import Callable

from core.shared.actor import Persona
from tests.e2e_payments.conftest import Sandbox
from tests.e2e_payments.test_as_a_new_user import stripe_delivery
from tests.unit.escrow.world import EscrowWorld, ids


def test_a_card_payment_for_a_milestone_funds_it_once(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe")
    world = EscrowWorld.over(sb.runtime, sb.clock)
    client_auth = sb.user("clara")
    provider_auth = sb.user("pablo", Persona.PROVIDER)
    client, provider = sb.actor(client_auth), sb.actor(provider_auth)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 2_500))

    paid = sb.top_up(
        client_auth,
        2_500,
        method="card",
        payment_token="pm_card_visa",
        escrow={"contract_id": contract_id, "milestone_id": milestone_id},
    )
    assert paid["status"] == "captured", paid
    assert sb.balance(client_auth) == 2_500  # in the wallet until the hand-off
    sb.settle()

    def milestone() -> dict[str, object]:
        answer = sb.get(f"/v1/contracts/{contract_id}", client_auth)
        assert answer.status_code == 200, answer.text
        [only] = answer.json()["milestones"]
        return dict(only)

    funded = milestone()
    assert (funded["status"], funded["held"]) == ("funded", {"minor": 2_500, "currency": "EUR"})
    assert sb.balance(client_auth) == 0
    assert world.escrow_balance(milestone_id).minor == 2_500

    # Stripe repeats the capture by webhook: nothing is credited or funded again.
    delivered = stripe_delivery(sb, paid["payment_id"], "payment_intent.succeeded", "succeeded")()
    assert delivered.status_code == 200, delivered.text
    sb.settle()
    assert sb.balance(client_auth) == 0
    assert world.escrow_balance(milestone_id).minor == 2_500
    assert milestone()["status"] == "funded"


def test_a_card_payment_escrow_refuses_stays_in_the_wallet_and_the_client_is_told(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe")
    world = EscrowWorld.over(sb.runtime, sb.clock)
    client_auth = sb.user("clara")
    provider_auth = sb.user("pablo", Persona.PROVIDER)
    client, provider = sb.actor(client_auth), sb.actor(provider_auth)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 2_500))
    escrow = {"contract_id": contract_id, "milestone_id": milestone_id}
    sb.top_up(client_auth, 2_500, method="card", payment_token="pm_card_visa", escrow=escrow)
    sb.settle()

    # The client pays the same milestone a second time: escrow refuses, nothing moves.
    again = sb.top_up(client_auth, 2_500, method="card", payment_token="pm_card_visa", escrow=escrow)
    assert again["status"] == "captured", again
    sb.settle()

    assert sb.balance(client_auth) == 2_500  # the second payment, in the wallet
    assert world.escrow_balance(milestone_id).minor == 2_500  # the first one only
    answer = sb.get("/v1/notifications", client_auth)
    assert answer.status_code == 200, answer.text
    refused = [n for n in answer.json()["notifications"] if n["kind"] == "escrow.milestone_funding_refused"]
    assert [n["text"] for n in refused] == [
        "Your payment of 25.00 EUR could not fund the milestone (the milestone was no longer waiting for "
        "funding); the money was credited to your wallet instead."
    ]
    assert (refused[0]["contract_id"], refused[0]["milestone_id"]) == (contract_id, milestone_id)
    told = sb.get("/v1/notifications", provider_auth).json()["notifications"]
    assert [n["kind"] for n in told if n["kind"] == "escrow.milestone_funding_refused"] == []
