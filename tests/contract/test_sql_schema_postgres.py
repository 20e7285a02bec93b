from .harness import PostgresAdapter
from .suites.sql_schema import SqlSchemaContract


class TestPostgresSqlSchema(PostgresAdapter, SqlSchemaContract):
    pass
