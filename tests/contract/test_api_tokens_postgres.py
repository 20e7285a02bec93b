from .harness import PostgresAdapter
from .suites.api_tokens import ApiTokensContract


class TestPostgresApiTokens(PostgresAdapter, ApiTokensContract):
    pass
