from .harness import SqliteAdapter
from .suites.api_tokens import ApiTokensContract


class TestSqliteApiTokens(SqliteAdapter, ApiTokensContract):
    pass
