"""The ``gigcore`` command line: serve, migrate, bootstrap users and tokens, verify the
audit log, and run any use case as a staff operator (``gigcore run``).

Every command goes through the same use cases as HTTP, so it is authorised and audited
the same way. Errors map to exit codes once, in ``entrypoints.cli.exit_codes``.
"""
