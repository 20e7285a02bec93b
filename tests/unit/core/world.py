"""A small test world: a runtime plus helpers that speak the domain's language."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from attrs import define

from core.identity.use_cases.create_user import CreateUserCommand
from core.ledger.domain import WalletView
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand, DepositSandboxFundsResult
from core.ledger.use_cases.get_balance import GetBalanceQuery
from core.ledger.use_cases.open_wallet import OpenWalletCommand
from core.ledger.use_cases.transfer_funds import TransferFundsCommand, TransferFundsResult
from core.shared.actor import Actor, Persona
from core.shared.ids import AccountId, IdempotencyKey, correlation_id, idempotency_key
from core.shared.money import Currency, Money
from core.shared.time import ManualClock
from entrypoints.container import Runtime, build_in_memory

SYSTEM = Actor.system("test")


def key() -> IdempotencyKey:
    return idempotency_key(uuid.uuid4().hex)


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


@define
class World:
    runtime: Runtime
    clock: ManualClock

    @classmethod
    def in_memory(cls) -> World:
        clock = ManualClock()
        return cls(build_in_memory(clock=clock), clock)

    @property
    def uc(self) -> Any:
        # Every action happens a microsecond after the previous one, so records and
        # statements have a strict time order in tests.
        self.clock.advance(timedelta(microseconds=1))
        return self.runtime.use_cases

    def user(self, handle: str, *personas: Persona) -> Actor:
        view = self.uc.create_user()(
            CreateUserCommand(
                by=SYSTEM,
                idempotency_key=key(),
                correlation_id=correlation_id(None),
                handle=handle,
                display_name=handle.title(),
                personas=frozenset(personas or (Persona.CLIENT,)),
            )
        )
        return self.uc.authenticate_token()(self._token_for(view.user_id))

    def _token_for(self, user_id: str) -> str:
        from core.identity.use_cases.issue_api_token import IssueApiTokenCommand

        issued = self.uc.issue_api_token()(
            IssueApiTokenCommand(by=SYSTEM, idempotency_key=key(), correlation_id=correlation_id(None), user=user_id)
        )
        assert issued.token is not None
        return issued.token

    def wallet(self, actor: Actor, currency: str = "EUR") -> WalletView:
        return self.uc.open_wallet()(
            OpenWalletCommand(
                by=actor, idempotency_key=key(), correlation_id=correlation_id(None), currency=Currency(currency)
            )
        )

    def deposit(
        self, actor: Actor, wallet_id: AccountId, amount: Money, k: IdempotencyKey | None = None
    ) -> DepositSandboxFundsResult:
        return self.uc.deposit_sandbox_funds()(
            DepositSandboxFundsCommand(
                by=actor,
                idempotency_key=k or key(),
                correlation_id=correlation_id(None),
                wallet_id=wallet_id,
                amount=amount,
            )
        )

    def transfer(
        self, actor: Actor, source: AccountId, target: AccountId, amount: Money, k: IdempotencyKey | None = None
    ) -> TransferFundsResult:
        return self.uc.transfer_funds()(
            TransferFundsCommand(
                by=actor,
                idempotency_key=k or key(),
                correlation_id=correlation_id(None),
                from_wallet_id=source,
                to_wallet_id=target,
                amount=amount,
            )
        )

    def balance(self, actor: Actor, wallet_id: AccountId) -> Money:
        return self.uc.get_balance()(GetBalanceQuery(by=actor, wallet_id=wallet_id)).available

    def totals(self) -> dict[str, int]:
        """Sum of every account's balance per currency (zero in a healthy ledger)."""
        with self.runtime.new_unit_of_work() as uow:
            sums: dict[str, int] = {}
            for b in uow.accounts.balances():
                sums[b.balance.currency.code] = sums.get(b.balance.currency.code, 0) + b.balance.minor
            return sums
