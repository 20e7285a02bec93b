import pytest

from .escrow_machine import SharedDatabase, SharedDatabaseCase, machine_on, postgres_schema

DATABASE = SharedDatabase()


@pytest.mark.postgres
class TestPostgresEscrowMachine(SharedDatabaseCase, machine_on(DATABASE).TestCase):  # type: ignore[misc]
    database = DATABASE
    location = staticmethod(postgres_schema)
