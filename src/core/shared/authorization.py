"""Authorisation as a port: use cases ask whether an actor may take an action.

The policy itself (a persona x action table, as data) lives in the identity context and is
wired in by the composition root; contexts only name their actions. Object-level checks
(whose wallet is it?) stay in the use case that loads the object.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from attrs import frozen

from core.shared.actor import Actor
from core.shared.errors import DomainError, ErrorCategory


class Authorizer(Protocol):
    """Decides whether ``actor`` may take ``action`` (a dotted name such as
    ``ledger.transfer``). Pure and fast: no I/O, no side effects, never raises."""

    def allows(self, actor: Actor, action: str) -> bool: ...


@frozen
class Forbidden(DomainError):
    code: ClassVar[str] = "forbidden"
    title: ClassVar[str] = "You may not do this"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN
    action: str

    @property
    def detail(self) -> str:
        return f"your role does not allow {self.action}"


@frozen
class Unauthenticated(DomainError):
    code: ClassVar[str] = "unauthenticated"
    title: ClassVar[str] = "Authentication is required"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAUTHENTICATED
    reason: str

    @property
    def detail(self) -> str:
        return self.reason
