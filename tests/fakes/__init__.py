"""Local fakes of external systems, for tests and a manual sandbox."""
