"""The SQL persistence adapter: SQLAlchemy Core over SQLite (the embedded default) and
PostgreSQL (psycopg 3).

``engine.open_engine`` makes the engine, ``unit_of_work.SqlUnitOfWork`` implements every
persistence port over it, and ``migrations.upgrade`` brings a database to the current
schema. Nothing here runs at import time.
"""
