"""In-memory adapters: real, shipped and contract-tested, for embedders and unit tests.

One ``MemoryStore`` holds all state; ``MemoryUnitOfWork`` serialises transactions on the
store's lock (like SQLite's single writer) and undoes its changes on rollback.
``SandboxPayoutGateway`` pays out nothing real, but keeps a real gateway's promises.
"""

from adapters.memory.payout_gateway import SandboxPayoutGateway
from adapters.memory.unit_of_work import MemoryStore, MemoryUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork", "SandboxPayoutGateway"]
