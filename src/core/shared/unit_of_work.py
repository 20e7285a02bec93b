"""The unit of work every state-changing use case runs in.

Context-specific units of work (``LedgerUnitOfWork``, ``IdentityUnitOfWork``) extend this
protocol with their repositories. One adapter class may satisfy several of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Self, TypeVar

from core.shared.audit import AuditTrail
from core.shared.idempotency import IdempotencyStore
from core.shared.outbox import Outbox


class UnitOfWork(Protocol):
    """One atomic transaction. Leaving the ``with`` block without ``commit()`` discards
    every change. A dry-run unit of work runs every statement and check, then rolls back
    at ``commit()``. Infrastructure failures surface as DependencyUnavailable or
    ConcurrentUpdate, never as driver exceptions.
    """

    # Read-only members: an adapter's plain attributes satisfy them, and one adapter class
    # can satisfy several contexts' units of work (each narrows what it needs).
    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def outbox(self) -> Outbox: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...


U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    """Makes a fresh unit of work per transaction, so a use case object is safe to share
    between threads and can open a second transaction (to record a rejection)."""

    def __call__(self) -> U_co: ...


AnyFactory = Callable[[], UnitOfWork]
