from .harness import PostgresAdapter
from .suites.end_to_end import UseCasesContract


class TestPostgresUseCases(PostgresAdapter, UseCasesContract):
    pass
