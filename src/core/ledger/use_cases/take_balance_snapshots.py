from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from core.ledger.domain import Actions, BalanceSnapshotTaken
from core.ledger.ports import LedgerUnitOfWork, SnapshotLine
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, SnapshotId, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class TakeBalanceSnapshotsCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId


@frozen(kw_only=True)
class CurrencyTotal:
    currency: str
    accounts: int
    total_minor: int  # zero in a healthy ledger: every entry balances


@frozen(kw_only=True)
class TakeBalanceSnapshotsResult:
    snapshot_id: SnapshotId
    taken_at: datetime
    totals: tuple[CurrencyTotal, ...]


class TakeBalanceSnapshots:
    """Record every account's balance at one consistent instant (for period ends and
    exports). Finance, admin or the system. The per-currency totals are returned; a
    non-zero total would mean a broken ledger. Emits BalanceSnapshotTaken."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: TakeBalanceSnapshotsCommand) -> TakeBalanceSnapshotsResult:
        def body(uow: LedgerUnitOfWork) -> Change[TakeBalanceSnapshotsResult]:
            now = self._clock.now()
            snapshot_id = SnapshotId(new_id("snap"))
            balances = uow.accounts.balances()
            uow.snapshots.add(
                snapshot_id, now, (SnapshotLine(account_id=b.account_id, balance=b.balance) for b in balances)
            )
            counts: dict[str, int] = defaultdict(int)
            sums: dict[str, int] = defaultdict(int)
            for b in balances:
                counts[b.balance.currency.code] += 1
                sums[b.balance.currency.code] += b.balance.minor
            totals = tuple(CurrencyTotal(currency=c, accounts=counts[c], total_minor=sums[c]) for c in sorted(counts))
            return Change(
                result=TakeBalanceSnapshotsResult(snapshot_id=snapshot_id, taken_at=now, totals=totals),
                target=f"snapshot:{snapshot_id}",
                after={"accounts": len(balances)},
                events=(
                    BalanceSnapshotTaken(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=snapshot_id,
                        snapshot_id=snapshot_id,
                        accounts=len(balances),
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.TAKE_SNAPSHOTS,
            target="ledger",
            result_type=TakeBalanceSnapshotsResult,
            body=body,
        )
