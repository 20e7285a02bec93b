"""Behaviour every adapter of ``PayoutDestinations`` has, on its own and under the
register / get use cases. Subclasses supply ``make_uow``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.identity.domain import PolicyAuthorizer
from core.payments.destinations import PayoutDestination, PayoutDestinationRegistered, PinnedPayoutDestination
from core.payments.use_cases.get_payout_destinations import GetPayoutDestinations, GetPayoutDestinationsQuery
from core.payments.use_cases.register_payout_destination import (
    PayoutDestinationView,
    RegisterPayoutDestination,
    RegisterPayoutDestinationCommand,
)
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey, UserId, new_id
from core.shared.time import ManualClock

from ..builders import T0, a_member, an_operator
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background


def a_destination(payee: str, provider: str = "stripe", value: str = "acct_1Abc") -> PayoutDestination:
    return PayoutDestination(payee_id=UserId(payee), provider=provider, value=value, created_at=T0, updated_at=T0)


class PayoutDestinationsContract:
    def test_a_put_destination_reads_back_equal_and_none_before(self, make_uow: MakeUow) -> None:
        payee = new_id("usr")
        destination = a_destination(payee)
        with make_uow() as uow:
            assert uow.payout_destinations.get(payee, "stripe") is None
            assert uow.payout_destinations.put(destination) is None
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.get(payee, "stripe") == destination
            assert uow.payout_destinations.get(payee, "adyen") is None
            assert uow.payout_destinations.get(new_id("usr"), "stripe") is None
        assert destination.created_at.isoformat() == T0.isoformat()

    def test_put_replaces_in_place_and_returns_the_previous(self, make_uow: MakeUow) -> None:
        payee = new_id("usr")
        first = a_destination(payee)
        second = a_destination(payee, value="acct_2Xyz")
        with make_uow() as uow:
            uow.payout_destinations.put(first)
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.put(second) == first
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.of_payee(payee) == [second]

    def test_of_payee_lists_one_per_provider_ordered_by_provider(self, make_uow: MakeUow) -> None:
        payee, other = new_id("usr"), new_id("usr")
        paypal = a_destination(payee, "paypal", "me@payees.example")
        adyen = a_destination(payee, "adyen", "SE322JV223222F5GKQZN8Q4NR")
        with make_uow() as uow:
            for destination in (paypal, a_destination(other), adyen):
                uow.payout_destinations.put(destination)
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.of_payee(payee) == [adyen, paypal]
            assert uow.payout_destinations.of_payee(new_id("usr")) == []

    def test_a_rolled_back_put_leaves_nothing(self, make_uow: MakeUow) -> None:
        payee = new_id("usr")
        kept = a_destination(payee)
        with make_uow() as uow:
            uow.payout_destinations.put(kept)
            uow.commit()
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee, value="acct_Gone"))
            uow.payout_destinations.put(a_destination(payee, "paypal", "gone@payees.example"))
        with make_uow() as uow:
            assert uow.payout_destinations.of_payee(payee) == [kept]


class PinnedPayoutDestinationsContract:
    """A payout's first attempt pins the destination it used; its retries read that pin."""

    def test_a_pin_keeps_the_first_destination_after_the_payee_replaces_it(self, make_uow: MakeUow) -> None:
        payee, payout = new_id("usr"), new_id("pay")
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee, value="acct_1First"))
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.pinned(payout) is None
            first = uow.payout_destinations.pin(payout, payee, "stripe", at=T0)
            uow.commit()
        assert first == PinnedPayoutDestination(
            payout_id=payout, payee_id=UserId(payee), provider="stripe", value="acct_1First", pinned_at=T0
        )
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee, value="acct_2Later"))
            uow.commit()
        with make_uow() as uow:
            again = uow.payout_destinations.pin(payout, payee, "stripe", at=T0 + timedelta(hours=1))
            uow.commit()
        with make_uow() as uow:
            assert again == first == uow.payout_destinations.pinned(payout)
            other = uow.payout_destinations.pin(new_id("pay"), payee, "stripe", at=T0)
        assert other is not None and other.value == "acct_2Later"  # another payout pins the current one
        assert first is not None and first.pinned_at.isoformat() == T0.isoformat()

    def test_without_a_destination_nothing_is_pinned(self, make_uow: MakeUow) -> None:
        payee, payout = new_id("usr"), new_id("pay")
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee, "paypal", "me@payees.example"))
            assert uow.payout_destinations.pin(payout, payee, "stripe", at=T0) is None
            assert uow.payout_destinations.pin(payout, new_id("usr"), "paypal", at=T0) is None
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.pinned(payout) is None
            later = uow.payout_destinations.pin(payout, payee, "paypal", at=T0)
        assert later is not None and later.value == "me@payees.example"

    def test_a_rolled_back_pin_leaves_nothing(self, make_uow: MakeUow) -> None:
        payee, payout = new_id("usr"), new_id("pay")
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee))
            uow.commit()
        with make_uow() as uow:
            assert uow.payout_destinations.pin(payout, payee, "stripe", at=T0) is not None
        with make_uow() as uow:
            assert uow.payout_destinations.pinned(payout) is None

    @pytest.mark.parametrize("first_commits", [True, False], ids=["holder-commits", "holder-rolls-back"])
    def test_a_second_pinner_waits_for_the_first_and_reads_its_pin(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked, first_commits: bool
    ) -> None:
        payee, payout = new_id("usr"), new_id("pay")
        with make_uow() as uow:
            uow.payout_destinations.put(a_destination(payee, value="acct_1Before"))
            uow.commit()

        def pin() -> PinnedPayoutDestination | None:
            with make_uow() as uow:
                pinned: PinnedPayoutDestination | None = uow.payout_destinations.pin(payout, payee, "stripe", at=T0)
                uow.commit()
                return pinned

        with make_uow() as uow:
            # The holder replaces the destination and pins the new one, uncommitted.
            uow.payout_destinations.put(a_destination(payee, value="acct_2Holder"))
            uow.payout_destinations.pin(payout, payee, "stripe", at=T0)
            join = in_background(pin)  # waits: for the pin's key, the write lock or the store
            wait_until_blocked(uow)
            if first_commits:
                uow.commit()
        got = join()
        assert got is not None and got.value == ("acct_2Holder" if first_commits else "acct_1Before")
        with make_uow() as uow:
            assert uow.payout_destinations.pinned(payout) == got


class RegisterPayoutDestinationContract:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(T0)

    def register(
        self, make_uow: MakeUow, clock: ManualClock, by: Actor, provider: str, value: str, key: str = ""
    ) -> PayoutDestinationView:
        use_case = RegisterPayoutDestination(make_uow, PolicyAuthorizer(), clock)
        return use_case(
            RegisterPayoutDestinationCommand(
                by=by,
                idempotency_key=IdempotencyKey(key or new_id("key")),
                correlation_id=CorrelationId("corr-1"),
                provider=provider,
                destination=value,
            )
        )

    def test_a_payee_registers_reads_and_replaces_their_own(self, make_uow: MakeUow, clock: ManualClock) -> None:
        payee = a_member(new_id("usr"), Persona.PROVIDER)
        first = self.register(make_uow, clock, payee, "paypal", "ABCDEFGHJK123")
        assert first.destination == "PAYPAL_ID:ABCDEFGHJK123"
        clock.advance(timedelta(minutes=5))
        second = self.register(make_uow, clock, payee, "paypal", "me@payees.example")
        assert (second.created_at, second.updated_at) == (T0, T0 + timedelta(minutes=5))
        listed = GetPayoutDestinations(make_uow, PolicyAuthorizer())(GetPayoutDestinationsQuery(by=payee))
        assert [(d.provider, d.destination) for d in listed] == [("paypal", "me@payees.example")]
        with make_uow() as uow:
            stored = uow.payout_destinations.get(payee.id, "paypal")
            events = [e for e in uow.outbox_feed.pending(limit=1000) if e.aggregate_id.endswith(f"{payee.id}:paypal")]
        assert stored is not None and stored.value == "me@payees.example"
        assert [e.name for e in events] == [PayoutDestinationRegistered.name] * 2
        assert "me@payees.example" not in str([e.payload for e in events])

    def test_a_replayed_key_registers_once(self, make_uow: MakeUow, clock: ManualClock) -> None:
        payee = a_member(new_id("usr"), Persona.PROVIDER)
        first = self.register(make_uow, clock, payee, "stripe", "acct_1Abc", key="key-once")
        clock.advance(timedelta(minutes=1))
        again = self.register(make_uow, clock, payee, "stripe", "acct_1Abc", key="key-once")
        assert again == first
        with make_uow() as uow:
            assert uow.payout_destinations.of_payee(payee.id)[0].updated_at == T0

    def test_a_value_in_the_wrong_format_or_an_unknown_provider_is_refused(
        self, make_uow: MakeUow, clock: ManualClock
    ) -> None:
        payee = a_member(new_id("usr"), Persona.PROVIDER)
        for provider, value in [("stripe", "SE322JV223222F5GKQZN8Q4NR"), ("adyen", "acct_1Abc"), ("bank", "x")]:
            with pytest.raises(InvalidInput):
                self.register(make_uow, clock, payee, provider, value)
        with make_uow() as uow:
            assert uow.payout_destinations.of_payee(payee.id) == []

    def test_a_client_cannot_register_and_support_reads_anyones(self, make_uow: MakeUow, clock: ManualClock) -> None:
        payee = a_member(new_id("usr"), Persona.PROVIDER)
        self.register(make_uow, clock, payee, "stripe", "acct_1Abc")
        with pytest.raises(Forbidden):
            self.register(make_uow, clock, a_member(new_id("usr"), Persona.CLIENT), "stripe", "acct_1Abc")
        read = GetPayoutDestinations(make_uow, PolicyAuthorizer())
        with pytest.raises(Forbidden):
            read(GetPayoutDestinationsQuery(by=a_member(new_id("usr"), Persona.PROVIDER), payee_id=payee.id))
        seen = read(GetPayoutDestinationsQuery(by=an_operator(Persona.SUPPORT), payee_id=payee.id))
        assert [d.destination for d in seen] == ["acct_1Abc"]
