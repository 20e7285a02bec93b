from .harness import PostgresAdapter
from .suites.unit_of_work import UnitOfWorkContract


class TestPostgresUnitOfWork(PostgresAdapter, UnitOfWorkContract):
    pass
