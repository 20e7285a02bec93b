"""Exit codes: the CLI's one mapping of errors (house style 3.5), by ``DomainError.category``.

Scripts rely on these numbers; they are documented in ``gigcore --help`` and the README.
"""

from __future__ import annotations

from types import MappingProxyType

from core.shared.errors import ConcurrentUpdate, DomainError, ErrorCategory

OK = 0
UNEXPECTED = 1
USAGE = 2  # also invalid input and invalid configuration

BY_CATEGORY = MappingProxyType(
    {
        ErrorCategory.INVALID: USAGE,
        ErrorCategory.NOT_FOUND: 3,
        ErrorCategory.CONFLICT: 4,
        ErrorCategory.FORBIDDEN: 5,
        ErrorCategory.UNAUTHENTICATED: 5,
        ErrorCategory.RULE: 6,
        ErrorCategory.UNAVAILABLE: 7,
    }
)

# The table as help text (typer's rich help keeps single line breaks after the first paragraph).
TABLE = "Exit codes:\n\n" + "\n".join(
    (
        "0  ok",
        "1  unexpected error (or: audit verify found a broken chain)",
        "2  usage error, invalid input or invalid configuration (INVALID)",
        "3  not found (NOT_FOUND)",
        "4  conflict: state or a concurrent change stands in the way (CONFLICT)",
        "5  not allowed: forbidden or not authenticated (FORBIDDEN, UNAUTHENTICATED)",
        "6  a business rule refused the command (RULE)",
        "7  a dependency is unavailable; retry with the same --idempotency-key (UNAVAILABLE)",
    )
)


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, DomainError):
        return BY_CATEGORY.get(error.category, UNEXPECTED)
    return UNEXPECTED


def is_retryable(error: BaseException) -> bool:
    """Whether repeating the same command with the same idempotency key may succeed."""
    return isinstance(error, ConcurrentUpdate) or (
        isinstance(error, DomainError) and error.category is ErrorCategory.UNAVAILABLE
    )
