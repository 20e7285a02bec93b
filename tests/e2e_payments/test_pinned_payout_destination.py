"""A payout whose answer was lost is retried with the same idempotency key; the payee
changed their destination in between. The retry must send the same request (the
destination the first attempt pinned), so the provider replays its answer: paid once, to
the original destination, never a key-reuse error or a second payment elsewhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.escrow.domain import PayoutStatus
from core.shared.actor import Persona
from core.shared.gateways import GatewayUnavailable
from core.shared.money import Money
from tests.fakes.providers import Fault
from tests.unit.core.world import key
from tests.unit.escrow.world import TIMERS, EscrowWorld

from .conftest import Sandbox

FIRST = {"stripe": "acct_1EarnerConnected", "adyen": "SE322JV223222F5GKQZN8Q4NR", "paypal": "earner@payees.example"}
LATER = {"stripe": "acct_2EarnerMovedAway", "adyen": "BA32272223222B5CTDQPM6W2H", "paypal": "moved@payees.example"}


@pytest.mark.parametrize("provider", ["stripe", "adyen", "paypal"])
def test_a_retry_after_a_lost_answer_pays_the_pinned_destination_with_the_same_key(
    make_sandbox: Callable[..., Sandbox], provider: str
) -> None:
    sb = make_sandbox(payout_gateway=provider)
    world = EscrowWorld.over(sb.runtime, sb.clock)
    auth = sb.user("earner", Persona.PROVIDER)
    earner = sb.actor(auth)
    assert sb.put(f"/v1/payout-destinations/{provider}", auth, {"destination": FIRST[provider]}).status_code == 200
    world.deposit(earner, world.wallet(earner).wallet_id, Money.of(50_000, "EUR"))
    fake = sb.fakes.by_name(provider)
    payout = world.request_payout(earner, Money.of(30_000, "EUR"))

    # Attempt 1: the provider pays, then answers 500: the outcome is unknown to us.
    fake.fail_next(Fault.SERVER_ERROR)
    with pytest.raises(GatewayUnavailable):
        world.execute_payout(TIMERS, payout.payout_id, key())
    assert world.payout(TIMERS, payout.payout_id).status is PayoutStatus.EXECUTING
    # The payee moves their payouts elsewhere before the retry.
    moved = sb.put(f"/v1/payout-destinations/{provider}", auth, {"destination": LATER[provider]})
    assert moved.status_code == 200, moved.text

    paid = world.execute_payout(TIMERS, payout.payout_id, key())

    assert paid.status is PayoutStatus.PAID and paid.reference is not None
    [movement] = fake.payouts
    assert (movement.amount_minor, movement.currency) == (30_000, "EUR")
    sent = [
        r for r in fake.requests if r.method == "POST" and r.header(fake.idempotency_header) == movement.idempotency_key
    ]
    assert len(sent) == 2  # the attempt and its retry, with one key
    assert all(FIRST[provider].encode() in r.body and LATER[provider].encode() not in r.body for r in sent)
    assert fake.fingerprint(sent[0]) == fake.fingerprint(sent[1])  # the same request: the answer is replayed
    assert sb.balance(auth) == 20_000
