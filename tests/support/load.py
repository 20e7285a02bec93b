"""Committed events over many aggregates, for drills and benchmarks: ``wallets`` clients
with a wallet each, and sandbox deposits spread round-robin over them (each commits one
``ledger.funds_deposited`` event of its wallet), from several threads at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
from core.shared.actor import Actor
from core.shared.ids import correlation_id, idempotency_key
from core.shared.money import Currency, Money
from tests.support.seed import client_wallet

EUR = Currency("EUR")


class Depositors:
    """``wallets`` wallets of ``wallets`` clients; ``deposit(i)`` deposits into wallet
    ``i % wallets`` through the use case (raises what it raises)."""

    def __init__(self, runtime: Any, wallets: int) -> None:
        if wallets < 1:
            raise ValueError("at least one wallet")
        self._runtime = runtime
        self._deposit = runtime.use_cases.deposit_sandbox_funds()
        self.accounts: list[tuple[Actor, Any]] = [client_wallet(runtime) for _ in range(wallets)]

    @property
    def wallet_ids(self) -> list[str]:
        return [str(wallet.wallet_id) for _, wallet in self.accounts]

    def deposit(self, i: int, *, key: str | None = None) -> Any:
        actor, wallet = self.accounts[i % len(self.accounts)]
        return self._deposit(
            DepositSandboxFundsCommand(
                by=actor,
                idempotency_key=idempotency_key(key or uuid.uuid4().hex),
                correlation_id=correlation_id(None),
                wallet_id=wallet.wallet_id,
                amount=Money(100 + i % 1000, EUR),
            )
        )

    def burst(self, count: int, *, threads: int = 4, on_each: Callable[[int], None] | None = None) -> int:
        """``count`` deposits from ``threads`` threads; returns how many committed (every
        one here: a failure propagates)."""
        done = 0
        lock = threading.Lock()

        def one(i: int) -> None:
            nonlocal done
            self.deposit(i)
            with lock:
                done += 1
            if on_each is not None:
                on_each(i)

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deposits") as pool:
            for future in [pool.submit(one, i) for i in range(count)]:
                future.result()
        return done
