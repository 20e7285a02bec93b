"""gigcore's performance harness: ``python -m benchmarks`` (see benchmarks/README.md).

Nothing here is imported by gigcore or run by the test suite; it measures gigcore against
the physical limits of the machine it runs on (pgbench, raw psycopg, a trivial endpoint)
and writes the figures to ``benchmarks/results/``. It never asserts on a timing.
"""
