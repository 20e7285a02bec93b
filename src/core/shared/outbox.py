"""The outbox port: domain events written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from core.shared.events import DomainEvent


class Outbox(Protocol):
    """Adds events to the outbox of the current unit of work. They become visible to the
    relay only when the transaction commits, and vanish with a rollback."""

    def add(self, events: Iterable[DomainEvent]) -> None: ...
