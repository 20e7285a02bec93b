from .escrow_machine import SharedDatabase, SharedDatabaseCase, machine_on, sqlite_file

DATABASE = SharedDatabase()


class TestSqliteEscrowMachine(SharedDatabaseCase, machine_on(DATABASE).TestCase):  # type: ignore[misc]
    database = DATABASE
    location = staticmethod(sqlite_file)
