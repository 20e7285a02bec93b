from .harness import PostgresAdapter
from .suites.contracts import ContractsContract


class TestPostgresContracts(PostgresAdapter, ContractsContract):
    pass
