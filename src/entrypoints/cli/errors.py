"""Errors the CLI itself raises; they carry a category like every domain error, so they
map to exit codes through the same table."""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from core.shared.errors import DomainError, ErrorCategory


@frozen
class UnknownOperator(DomainError):
    code: ClassVar[str] = "unknown_operator"
    title: ClassVar[str] = "No such user"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAUTHENTICATED
    who: str

    @property
    def detail(self) -> str:
        return f"--as {self.who}: no such user; --as names a staff user (support, finance or admin)"


@frozen
class NotStaff(DomainError):
    code: ClassVar[str] = "not_staff"
    title: ClassVar[str] = "Only staff may run use cases"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN
    who: str

    @property
    def detail(self) -> str:
        return f"--as {self.who}: not a staff user; only support, finance or admin users may run use cases"


@frozen
class UnknownUseCase(DomainError):
    code: ClassVar[str] = "unknown_use_case"
    title: ClassVar[str] = "No such use case"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID
    name: str

    @property
    def detail(self) -> str:
        return f"no use case {self.name!r}; gigcore run --list shows them"


@frozen
class UsageProblem(DomainError):
    """The command line itself is wrong (options that exclude each other, a missing one)."""

    code: ClassVar[str] = "usage"
    title: ClassVar[str] = "The command line is not valid"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID
    problem: str

    @property
    def detail(self) -> str:
        return self.problem
