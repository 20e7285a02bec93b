"""What identity & access needs from the outside world."""

from __future__ import annotations

from typing import Protocol

from attrs import frozen

from core.identity.domain import ApiToken, HandleTaken, TokenNotFound, User, UserNotFound  # noqa: F401
from core.shared.audit import AuditRecord
from core.shared.ids import TokenId, UserId
from core.shared.unit_of_work import UnitOfWork


class Users(Protocol):
    def add(self, user: User) -> None:
        """Raises HandleTaken, also when a concurrent transaction took the handle first."""
        ...

    def get(self, user_id: UserId) -> User:
        """Raises UserNotFound."""
        ...

    def by_handle(self, handle: str) -> User | None: ...

    def user_exists(self, user_id: str) -> bool: ...

    def any_exist(self) -> bool:
        """Whether any user has been created (a fresh installation has none)."""
        ...


class ApiTokens(Protocol):
    """Tokens are stored as SHA-256 hashes only; the secret is never persisted."""

    def add(self, token: ApiToken) -> None: ...

    def get(self, token_id: TokenId) -> ApiToken:
        """Raises TokenNotFound."""
        ...

    def by_hash(self, token_hash: str) -> ApiToken | None: ...

    def lock(self, token_id: TokenId) -> ApiToken:
        """Read and lock the token until the transaction ends (two revocations at once
        then see each other). Raises TokenNotFound."""
        ...

    def save(self, token: ApiToken) -> None:
        """Persist a changed token (revocation)."""
        ...


@frozen(kw_only=True)
class ChainHead:
    chain: int
    last_seq: int
    last_hash: str


class AuditLog(Protocol):
    """Read access to the stored audit chains, for verification."""

    def heads(self) -> list[ChainHead]:
        """One head per chain that has records or a non-empty head, by chain number. A
        chain whose records exist but whose head row is gone is reported with
        ``last_seq=-1`` and ``last_hash=""``, so its loss is detected too."""
        ...

    def records(self, chain: int, *, after_seq: int, limit: int) -> list[AuditRecord]:
        """Stored records of one chain with seq > after_seq, by seq, as stored (the
        stored hash and prev_hash, not recomputed)."""
        ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    @property
    def users(self) -> Users: ...

    @property
    def tokens(self) -> ApiTokens: ...

    @property
    def audit_log(self) -> AuditLog: ...
