from .harness import PostgresAdapter
from .suites.audit import AuditTrailContract


class TestPostgresAuditTrail(PostgresAdapter, AuditTrailContract):
    pass
