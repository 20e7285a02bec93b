"""Make committed events for drills and benchmarks: one client, one wallet, N sandbox
deposits (each commits one ``ledger.funds_deposited`` event)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from core.identity.use_cases.create_user import CreateUserCommand
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
from core.ledger.use_cases.open_wallet import OpenWalletCommand
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.ids import correlation_id, idempotency_key
from core.shared.money import Currency, Money


def _key() -> Any:
    return idempotency_key(uuid.uuid4().hex)


def client_wallet(runtime: Any) -> tuple[Actor, Any]:
    use_cases = runtime.use_cases
    user = use_cases.create_user()(
        CreateUserCommand(
            by=Actor.system("seed"),
            idempotency_key=_key(),
            correlation_id=correlation_id(None),
            handle="c" + uuid.uuid4().hex[:10],
            display_name="Drill client",
            personas=frozenset({Persona.CLIENT}),
        )
    )
    actor = Actor(ActorKind.USER, user.user_id, frozenset({Persona.CLIENT}))
    wallet = use_cases.open_wallet()(
        OpenWalletCommand(
            by=actor, idempotency_key=_key(), correlation_id=correlation_id(None), currency=Currency("EUR")
        )
    )
    return actor, wallet


def deposits(runtime: Any, count: int, *, on_each: Callable[[int], None] | None = None) -> None:
    actor, wallet = client_wallet(runtime)
    deposit = runtime.use_cases.deposit_sandbox_funds()
    for i in range(count):
        deposit(
            DepositSandboxFundsCommand(
                by=actor,
                idempotency_key=_key(),
                correlation_id=correlation_id(None),
                wallet_id=wallet.wallet_id,
                amount=Money(100 + i, Currency("EUR")),
            )
        )
        if on_each is not None:
            on_each(i)
