"""The root of every domain error, with a stable machine-readable code and a category.

Entry points map the category once (HTTP status, CLI exit code); nothing else inspects
error classes to decide how to answer.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

import attrs


class ErrorCategory(enum.Enum):
    """How an error should be answered; the entry points own the mapping to statuses."""

    INVALID = "invalid"  # the input breaks a rule of its own shape -> 422
    RULE = "rule"  # a business rule refuses the command -> 422
    NOT_FOUND = "not_found"  # -> 404 (also used to hide what the actor may not see)
    CONFLICT = "conflict"  # state or a concurrent change stands in the way -> 409
    FORBIDDEN = "forbidden"  # the actor may not do this at all -> 403
    UNAUTHENTICATED = "unauthenticated"  # -> 401
    UNAVAILABLE = "unavailable"  # a dependency is down; retry with the same key -> 503


@attrs.define(frozen=True, auto_exc=True)
class DomainError(Exception):
    """Base of all domain errors.

    Subclasses are attrs classes carrying structured fields; ``code`` is stable and
    documented (architecture/errors.md), ``title`` is a short human summary and
    ``detail`` says what happened in this instance.
    """

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "The command was refused"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE

    @property
    def detail(self) -> str:
        return self.title

    def fields(self) -> dict[str, Any]:
        """The structured fields, as JSON-friendly primitives."""
        return {k: _primitive(v) for k, v in attrs.asdict(self, recurse=False).items()}

    def __str__(self) -> str:
        return self.detail


def _primitive(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_primitive(v) for v in value]
    return str(value)


@attrs.define(frozen=True, auto_exc=True)
class InvalidInput(DomainError):
    """A value cannot be accepted as given (wrong type, out of range, unknown code)."""

    code: ClassVar[str] = "invalid_input"
    title: ClassVar[str] = "The input is not valid"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID
    field: str
    reason: str

    @property
    def detail(self) -> str:
        return f"{self.field}: {self.reason}"


@attrs.define(frozen=True, auto_exc=True)
class ConcurrentUpdate(DomainError):
    """Another transaction changed the same record first; the command had no effect."""

    code: ClassVar[str] = "concurrent_update"
    title: ClassVar[str] = "A concurrent change won; retry with the same idempotency key"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    what: str

    @property
    def detail(self) -> str:
        return f"{self.what} was changed by another request at the same time; retry"


@attrs.define(frozen=True, auto_exc=True)
class DependencyUnavailable(DomainError):
    """A dependency (database, broker) could not be reached; nothing was written."""

    code: ClassVar[str] = "dependency_unavailable"
    title: ClassVar[str] = "A dependency is unavailable; retry with the same idempotency key"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE
    dependency: str

    @property
    def detail(self) -> str:
        return f"{self.dependency} is unavailable; nothing was written"
