from .harness import SqliteAdapter
from .suites.sql_schema import SqlSchemaContract


class TestSqliteSqlSchema(SqliteAdapter, SqlSchemaContract):
    pass
