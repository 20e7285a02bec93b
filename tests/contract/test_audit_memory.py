from .harness import MemoryAdapter
from .suites.audit import AuditTrailContract


class TestMemoryAuditTrail(MemoryAdapter, AuditTrailContract):
    pass
