from .harness import SqliteAdapter
from .suites.audit import AuditTrailContract


class TestSqliteAuditTrail(SqliteAdapter, AuditTrailContract):
    pass
