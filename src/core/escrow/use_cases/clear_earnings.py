from __future__ import annotations

from collections.abc import Callable

from core.escrow.domain import Actions, EarningsCleared, FireTimerCommand, ReleaseId, TimerFired
from core.escrow.ports import AccountKinds, EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.timer_claims import fire_claimed
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import EventId, new_id
from core.shared.money import Currency, Money
from core.shared.time import Clock
from core.shared.timers import Timer

CLEARED = "cleared"


class ClearEarnings:
    """A release's clearing period ended: its net amount moves from the provider's
    pending earnings to their wallet (available for payouts), in one entry. The timer
    is per release and fires once, so each release clears exactly once. Runs as the
    system. Emits EarningsCleared."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: FireTimerCommand) -> TimerFired:
        def body(uow: EscrowUnitOfWork) -> Change[TimerFired]:
            now = self._clock.now()

            def handle(timer: Timer) -> Change[TimerFired]:
                payee = timer.text("payee_id")
                currency = Currency(timer.text("currency"))
                amount = Money(timer.number("net_minor"), currency)
                release_id = ReleaseId(timer.text("release_id"))
                book = uow.book
                pending = book.account(owner_id=payee, kind=AccountKinds.WALLET_PENDING, currency=currency, at=now)
                wallet = book.account(owner_id=payee, kind=AccountKinds.WALLET, currency=currency, at=now)
                entry_id = book.post(
                    kind=EntryKinds.CLEARING,
                    memo=f"clearing of release {release_id}",
                    initiated_by=command.by.ref,
                    legs=[(pending, amount.negated()), (wallet, amount)],
                    at=now,
                )
                return Change(
                    result=TimerFired(timer_id=timer.id, kind=timer.kind, outcome=CLEARED, entry_id=entry_id),
                    target=f"release:{release_id}",
                    after={"payee_id": payee, "amount_minor": amount.minor, "entry_id": entry_id, "timer_id": timer.id},
                    events=(
                        EarningsCleared(
                            event_id=EventId(new_id("evt")),
                            occurred_at=now,
                            aggregate_id=payee,
                            release_id=release_id,
                            payee_id=payee,
                            amount=amount,
                            entry_id=entry_id,
                        ),
                    ),
                )

            return fire_claimed(uow, command, at=now, handle=handle)

        return self._runner.run(
            command,
            action=Actions.CLEAR_EARNINGS,
            target=f"timer:{command.timer_id}",
            result_type=TimerFired,
            body=body,
        )
