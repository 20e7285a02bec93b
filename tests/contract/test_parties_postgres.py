from .harness import PostgresAdapter
from .suites.parties import PartiesContract


class TestPostgresParties(PostgresAdapter, PartiesContract):
    pass
