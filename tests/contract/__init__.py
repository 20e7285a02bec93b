"""Contract tests: one suite per port in ``suites/``, run against every adapter."""
