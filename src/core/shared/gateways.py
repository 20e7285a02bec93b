"""Errors every gateway port speaks (payout gateways now, payment processors later).

Adapters translate their SDK's or HTTP client's failures into exactly these two, so the
core decides once: a decline is final for its idempotency key, an outage is retried with
the same key.
"""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from core.shared.errors import DomainError, ErrorCategory


@frozen
class GatewayDeclined(DomainError):
    """The gateway answered and refused. Final for this idempotency key: do not retry."""

    code: ClassVar[str] = "gateway_declined"
    title: ClassVar[str] = "The payment gateway declined"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    gateway: str
    reason: str

    @property
    def detail(self) -> str:
        return f"{self.gateway} declined: {self.reason}"


@frozen
class GatewayUnavailable(DomainError):
    """The gateway could not be reached or timed out; the outcome is unknown. Retry with
    the same idempotency key (the gateway then answers what it did the first time)."""

    code: ClassVar[str] = "gateway_unavailable"
    title: ClassVar[str] = "The payment gateway is unavailable; retry with the same idempotency key"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE
    gateway: str

    @property
    def detail(self) -> str:
        return f"{self.gateway} could not be reached; the outcome is unknown, retry"


@frozen
class GatewayOutcomeUnknown(DomainError):
    """The request was sent and no answer came back (a timeout after sending, a 5xx while
    processing): the gateway may or may not have acted. Never retried on another gateway;
    the caller records the outcome as unknown and looks it up later with the same key."""

    code: ClassVar[str] = "gateway_outcome_unknown"
    title: ClassVar[str] = "The payment gateway's answer was lost; the outcome is being checked"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE
    gateway: str

    @property
    def detail(self) -> str:
        return f"{self.gateway} did not answer after the request was sent; the outcome is unknown"
